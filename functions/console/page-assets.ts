import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/**
 * The console's web page as three files, built once at bundle time (the console function serves
 * them from memory): the HTML shell, the page's script (page/main.ts and uPlot, bundled) and its
 * styles (page/style.css and uPlot's). Nothing is loaded from elsewhere: a user may have no internet.
 */

export interface ConsolePage {
  readonly files: Readonly<Record<string, { readonly contentType: string; readonly body: string }>>;
}

const PAGE = new URL('page/', import.meta.url);

// uPlot's own header is not a legal comment, so minifying drops it; the MIT notice stays this way.
const UPLOT_NOTICE = '/*! uPlot, MIT License, Copyright (c) Leon Sorokin */';

/** The page, and the source files it was built from (for a watching build to follow). */
export async function bundleConsolePage(): Promise<{ page: ConsolePage; inputs: string[] }> {
  const result = await build({
    entryPoints: [
      { in: fileURLToPath(new URL('main.ts', PAGE)), out: 'console' },
      { in: fileURLToPath(new URL('style.css', PAGE)), out: 'console' },
    ],
    outdir: fileURLToPath(PAGE),
    write: false,
    bundle: true,
    minify: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    banner: { js: UPLOT_NOTICE, css: UPLOT_NOTICE },
    legalComments: 'none',
    metafile: true,
    logLevel: 'silent',
  });
  const output = (name: string): string => {
    const file = result.outputFiles.find((candidate) => basename(candidate.path) === name);
    if (file === undefined) throw new Error(`the console page's build wrote no ${name}`);
    return file.text;
  };
  const html = fileURLToPath(new URL('index.html', PAGE));
  return {
    page: {
      files: {
        'index.html': { contentType: 'text/html; charset=utf-8', body: await readFile(html, 'utf8') },
        'console.js': { contentType: 'text/javascript; charset=utf-8', body: output('console.js') },
        'console.css': { contentType: 'text/css; charset=utf-8', body: output('console.css') },
      },
    },
    inputs: [html, ...Object.keys(result.metafile.inputs)],
  };
}

export async function buildConsolePage(): Promise<ConsolePage> {
  return (await bundleConsolePage()).page;
}
