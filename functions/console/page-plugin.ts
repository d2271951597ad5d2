import type { Plugin } from 'esbuild';
import { resolve } from 'node:path';
import { bundleConsolePage } from './page-assets.ts';

/**
 * An esbuild plugin that turns `import page from 'virtual:console-page'` into the console's page
 * (see page-assets.ts), so the console function carries its HTML, script and styles in its bundle.
 * serverless-esbuild require()s this file by path (custom.esbuild.plugins): plain ESM that Node's
 * type stripping can load, hence no enums and the imports' `.ts` extensions.
 */

const NAMESPACE = 'console-page';

export const consolePagePlugin: Plugin = {
  name: 'console-page',
  setup(build) {
    build.onResolve({ filter: /^virtual:console-page$/ }, () => ({
      path: 'virtual:console-page',
      namespace: NAMESPACE,
    }));
    build.onLoad({ filter: /.*/, namespace: NAMESPACE }, async () => {
      const { page, inputs } = await bundleConsolePage();
      return {
        contents: `export default ${JSON.stringify(page)};`,
        loader: 'js',
        // The metafile's inputs are relative to the working directory; a watching build wants paths.
        watchFiles: inputs.map((input) => resolve(input)),
      };
    });
  },
};

export default [consolePagePlugin];
