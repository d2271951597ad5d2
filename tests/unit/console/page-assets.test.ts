import { describe, expect, it } from 'vitest';
import { buildConsolePage } from '#functions/console/page-assets.ts';

describe('buildConsolePage', () => {
  it('builds the HTML shell, the script and the styles, all loaded from the page itself', async () => {
    const { files } = await buildConsolePage();
    expect(Object.keys(files).sort()).toEqual(['console.css', 'console.js', 'index.html']);
    expect(files['index.html']?.contentType).toMatch(/^text\/html/);
    expect(files['console.js']?.contentType).toMatch(/^text\/javascript/);
    expect(files['console.css']?.contentType).toMatch(/^text\/css/);

    for (const [name, file] of Object.entries(files)) {
      // Nothing from a CDN or elsewhere: a user of the console may have no internet.
      expect(file.body, name).not.toMatch(/https?:\/\//);
      expect(file.body, name).not.toMatch(/["'(]\/\/[a-z]/);
    }

    const html = files['index.html']?.body ?? '';
    // Relative, so the page works under any stage prefix, at …/console and …/console/.
    expect(html).toContain("'assets/console.js'");
    expect(html).toContain("'assets/console.css'");
    expect(html).not.toMatch(/(src|href)=["']\/(?!\/)/);

    // Bundled and minified, uPlot included (its CSS too).
    const script = files['console.js']?.body ?? '';
    expect(script.length).toBeGreaterThan(20_000);
    expect(script.split('\n').length).toBeLessThan(10);
    expect(files['console.css']?.body).toContain('.uplot');
  });
});
