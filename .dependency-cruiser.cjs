// npm run lint (dependency rules): the module graph's layering, checked by dependency-cruiser
// (pinned in package.json). Type-only imports count: a type from a page is still a dependency on it.
/** A rule that fails the lint: modules matching `from` may not import modules matching `to`. */
const forbid = (name, comment, from, to) => ({ name, severity: 'error', comment, from, to });

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    forbid('core-not-vscode',
      'src/core is shared by the extension, the CLI and the tests: it never imports vscode (src/extension adapts it)',
      { path: '^src/core/' },
      { path: '^vscode$|node_modules/@types/vscode/' }),
    forbid('core-not-pages',
      'src/core never imports a webview page, its protocol included; what a page and the core share lives in src/core '
      + '(charts/ for the compare report, the run shapes of protocol.ts). A page\'s host half (its session) is src/sessions/.',
      { path: '^src/core/' },
      { path: '^(webview|src/sessions)/' }),
    forbid('protocol-is-a-leaf',
      'a page\'s protocol (the message union and its validators, imported by the page and the host) imports only src/core',
      { path: '^webview/[^/]+/protocol\\.ts$' },
      { path: '^(webview|src/(extension|sessions))/' }),
    forbid('pages-apart',
      'a page imports only its own folder, webview/shared/ and src/core (never another page, the host (src/extension, src/sessions) or vscode)',
      { path: '^webview/([^/]+)/' },
      { path: '^(webview/|src/(extension|sessions)/|src/cli|vscode$|node_modules/@types/vscode/)', pathNot: '^webview/($1|shared)/' }),
    // src/extension in three floors under extension.ts: commands.ts registers every command; the command modules
    // (*Command.ts, *Commands.ts) hold their bodies and share pickers.ts and launch.ts (the command helpers); the
    // views (runsView, dashboard, samplesPanel, playground, datasetLens, ...) and ctx.ts sit below them all.
    forbid('extension-commands-apart',
      'a command module (src/extension/*Command(s).ts) never imports another command module, commands.ts or extension.ts: '
      + 'what command modules share (quick picks, refusals, the launch notification) is in pickers.ts or launch.ts',
      { path: '^src/extension/[^/]+Commands?\\.ts$' },
      { path: '^src/extension/([^/]+Commands?|commands|extension)\\.ts$' }),
    forbid('extension-views-below-commands',
      'below the command modules (views, ctx, pickers.ts, launch.ts) nothing imports a command module, commands.ts '
      + '(the one registry: only extension.ts calls it) or extension.ts',
      { path: '^src/extension/', pathNot: '^src/extension/([^/]+Commands?|commands|extension)\\.ts$' },
      { path: '^src/extension/([^/]+Commands?|commands|extension)\\.ts$' }),
    forbid('extension-command-helpers',
      'pickers.ts and launch.ts are the command modules\' helpers: a view, ctx or anything outside src/extension never imports them '
      + '(a view needs no quick pick of a command; what a view offers lives in the view)',
      { pathNot: '^src/extension/([^/]+Commands?|commands|pickers|launch)\\.ts$' },
      { path: '^src/extension/(pickers|launch)\\.ts$' }),
    forbid('no-circular',
      'no module imports one that imports it back, directly or around a longer cycle',
      {},
      { circular: true }),
    {
      name: 'no-folder-cycles',
      scope: 'folder',
      severity: 'error',
      comment: 'no folder imports a folder that imports it back (src/core/adapters -> src/core -> src/core/adapters, ...)',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    // the project's folders, and vscode (so that an import of it is seen; it is types and a host module, never bundled)
    includeOnly: '^(src|webview)/|^vscode$|node_modules/@types/vscode/',
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    exoticRequireStrings: [],
  },
};
