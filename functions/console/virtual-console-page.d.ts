/** The console's page, bundled into the console function by page-plugin.ts. */
declare module 'virtual:console-page' {
  import type { ConsolePage } from '#functions/console/page-assets.ts';

  const page: ConsolePage;
  export default page;
}
