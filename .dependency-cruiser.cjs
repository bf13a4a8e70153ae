// npm run lint (dependency rules): the module graph's layering, checked by dependency-cruiser
// (pinned in package.json). Type-only imports count: a type from a page is still a dependency on it.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'core-not-vscode',
      severity: 'error',
      comment: 'src/core is shared by the extension, the CLI and the tests: it never imports vscode (src/extension adapts it)',
      from: { path: '^src/core/' },
      to: { path: '^vscode$|node_modules/@types/vscode/' },
    },
    {
      name: 'core-not-pages',
      severity: 'error',
      comment: 'src/core never imports a webview page, its protocol included; what a page and the core share lives in src/core '
        + '(charts/ for the compare report, the run shapes of protocol.ts). A page\'s host half (its session) is src/sessions/.',
      from: { path: '^src/core/' },
      to: { path: '^(webview|src/sessions)/' },
    },
    {
      name: 'protocol-is-a-leaf',
      severity: 'error',
      comment: 'a page\'s protocol (the message union and its validators, imported by the page and the host) imports only src/core',
      from: { path: '^webview/[^/]+/protocol\\.ts$' },
      to: { path: '^(webview|src/(extension|sessions))/' },
    },
    {
      name: 'pages-apart',
      severity: 'error',
      comment: 'a page imports only its own folder, webview/shared/ and src/core (never another page, the host (src/extension, src/sessions) or vscode)',
      from: { path: '^webview/([^/]+)/' },
      to: { path: '^(webview/|src/(extension|sessions)/|src/cli|vscode$|node_modules/@types/vscode/)', pathNot: '^webview/($1|shared)/' },
    },
    // src/extension in three floors under extension.ts: commands.ts registers every command; the command modules
    // (*Command.ts, *Commands.ts) hold their bodies and share pickers.ts and launch.ts (the command helpers); the
    // views (runsView, dashboard, samplesPanel, playground, datasetLens, ...) and ctx.ts sit below them all.
    {
      name: 'extension-commands-apart',
      severity: 'error',
      comment: 'a command module (src/extension/*Command(s).ts) never imports another command module, commands.ts or extension.ts: '
        + 'what command modules share (quick picks, refusals, the launch notification) is in pickers.ts or launch.ts',
      from: { path: '^src/extension/[^/]+Commands?\\.ts$' },
      to: { path: '^src/extension/([^/]+Commands?|commands|extension)\\.ts$' },
    },
    {
      name: 'extension-views-below-commands',
      severity: 'error',
      comment: 'below the command modules (views, ctx, pickers.ts, launch.ts) nothing imports a command module, commands.ts '
        + '(the one registry: only extension.ts calls it) or extension.ts',
      from: { path: '^src/extension/', pathNot: '^src/extension/([^/]+Commands?|commands|extension)\\.ts$' },
      to: { path: '^src/extension/([^/]+Commands?|commands|extension)\\.ts$' },
    },
    {
      name: 'extension-command-helpers',
      severity: 'error',
      comment: 'pickers.ts and launch.ts are the command modules\' helpers: a view, ctx or anything outside src/extension never imports them '
        + '(a view needs no quick pick of a command; what a view offers lives in the view)',
      from: { pathNot: '^src/extension/([^/]+Commands?|commands|pickers|launch)\\.ts$' },
      to: { path: '^src/extension/(pickers|launch)\\.ts$' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'no module imports one that imports it back, directly or around a longer cycle',
      from: {},
      to: { circular: true },
    },
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
