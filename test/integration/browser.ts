// Chromium for the webview page tests (dashboard, sample browser, playground): Debian's /usr/bin/chromium,
// driven by playwright-core. The tests skip without it.
import type { chromium } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
/** By name, loaded at run time: the test bundle would otherwise inline playwright-core, which reads its own package.json. */
const PLAYWRIGHT = 'playwright-core';

export type Browser = Awaited<ReturnType<typeof chromium.launch>>;

/** A headless Chromium, closed by the caller. */
export async function launchChromium(): Promise<Browser> {
  const { chromium: c } = await import(PLAYWRIGHT) as typeof import('playwright-core');
  return c.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
}
