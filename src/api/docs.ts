/**
 * The interactive API reference, rendered in the browser by Scalar from
 * /openapi.json. The bundle is served from this Worker's own assets and the
 * default web fonts are off, so the page works with no CDN and no internet;
 * the hosted product's features are off too (options from @scalar/types'
 * api-reference configuration).
 */
export const docsPage = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>edgejobs API reference</title>
  </head>
  <body>
    <div id="reference"></div>
    <script src="/vendor/scalar-api-reference.js"></script>
    <script>
      Scalar.createApiReference("#reference", {
        url: "/openapi.json",
        withDefaultFonts: false,
        hideClientButton: true,
        telemetry: false,
        // No hosted-product features: no "Ask AI" agent, no "Generate MCP", and no developer
        // toolbar (its "Deploy" and registry buttons), which Scalar shows on localhost by default.
        agent: { disabled: true },
        mcp: { disabled: true },
        showDeveloperTools: "never",
        showToolbar: "never",
        // The sidebar's "Powered by Scalar" link advertises the hosted product; there is no option for it.
        customCss: 'a[href*="//www.scalar.com"] { display: none; }',
      });
    </script>
  </body>
</html>`;
