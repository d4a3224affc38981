/**
 * Public URLs that cannot silently be wrong. Snippets, the canonical link and the social-card URLs
 * are absolute (they are pasted into slides and shared), so they carry `site.url`. When that is a
 * loopback address (the config's default, http://localhost:4321), they break as soon as `dist/` is
 * uploaded: the build warns, naming what is affected and how to set the URL, and every page says
 * it is a preview. No Astro globals here (the build integration uses it too).
 */

/** True for a URL only this machine can open (localhost, 127.0.0.0/8, ::1, 0.0.0.0), or none. */
export function isLoopback(url: string | URL | undefined): boolean {
  if (!url) return true;
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host.endsWith('.localhost') || /^127\.\d+\.\d+\.\d+$/.test(host) || host === '::1' || host === '0.0.0.0';
}

/** The build's closing warning for a loopback `site.url`: what it affects, on how many pages, and how to fix it. */
export function loopbackWarning(site: string, configFile: string, pageCount: number): string {
  return [
    `site.url is ${site}, a loopback address: this build is a preview for this machine.`,
    `On its ${pageCount} pages the copy-ready snippets (Markdown, HTML, LaTeX graphicx and animate), <link rel="canonical">,`,
    `og:url, og:image and twitter:image point to ${site}/…, and stop working once dist/ is deployed.`,
    `Set the public URL: site.url (e.g. https://<user>.github.io) and site.base (e.g. /<repo>/) in ${configFile},`,
    'or for one build the environment variables ATLAS_SITE_URL and ATLAS_SITE_BASE (the Pages workflow sets them).',
  ].join('\n');
}
