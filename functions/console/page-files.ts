import { createHash } from 'node:crypto';
import type { APIGatewayProxyResult } from 'aws-lambda';
import page from 'virtual:console-page';

/** The page's entry: `/console` redirects here, so that its relative asset and API paths resolve. */
const ENTRY = 'index.html';

/**
 * What the page may load and who may frame it: its own assets and API only, its one inline script
 * (the <base> set-up in index.html) by hash, and no frame at all (the page holds replay and trigger
 * buttons). Inline styles stay allowed: uPlot sets them.
 */
function contentSecurityPolicy(html: string): string {
  const inline = /<script>([\s\S]*?)<\/script>/.exec(html)?.[1];
  const hash =
    inline === undefined ? '' : ` 'sha256-${createHash('sha256').update(inline).digest('base64')}'`;
  return [
    "default-src 'self'",
    `script-src 'self'${hash}`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

const CSP = contentSecurityPolicy(page.files[ENTRY]?.body ?? '');

/**
 * The page and its assets, built into the bundle (functions/console/page-plugin.ts): no CDN, no file
 * system. They hold no data, so they need no key; the browser may keep the assets (their names change
 * with no build, so only for a minute).
 */
export function servePage(path: string, requestPath: string): APIGatewayProxyResult {
  if (path === '') {
    // Relative, so that it holds wherever the API is mounted (behind a stage prefix or not).
    const location = requestPath.endsWith('/') ? ENTRY : `console/${ENTRY}`;
    return { statusCode: 302, headers: { location }, body: '' };
  }
  const name = path.startsWith('assets/') ? path.slice('assets/'.length) : path;
  const file = page.files[name];
  if (file === undefined || (name !== ENTRY && !path.startsWith('assets/'))) {
    return {
      statusCode: 404,
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      body: `no console file ${path}`,
    };
  }
  return {
    statusCode: 200,
    headers: {
      'content-type': file.contentType,
      'cache-control': name === ENTRY ? 'no-cache' : 'public, max-age=60',
      'x-content-type-options': 'nosniff',
      'content-security-policy': CSP,
      'x-frame-options': 'DENY',
    },
    body: file.body,
  };
}
