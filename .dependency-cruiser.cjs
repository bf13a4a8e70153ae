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
      comment: 'src/core never imports a webview page; what a page and the core share lives in src/core (charts/ for the compare report)',
      from: { path: '^src/core/' },
      to: { path: '^(webview|samples-webview|playground-webview)/' },
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
    includeOnly: '^(src|webview|samples-webview|playground-webview)/|^vscode$|node_modules/@types/vscode/',
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    exoticRequireStrings: [],
  },
};
