/** Warns at the end of a site build whose public URL is a loopback address (see src/lib/public-url.ts). */
import type { AstroIntegration } from 'astro';
import { isLoopback, loopbackWarning } from '../lib/public-url.ts';

export function publicUrlCheck(configFile: string): AstroIntegration {
  let site: string | undefined;
  return {
    name: 'filter-atlas-public-url',
    hooks: {
      'astro:config:done': ({ config }) => {
        site = config.site;
      },
      'astro:build:done': ({ pages, logger }) => {
        if (isLoopback(site)) logger.warn(loopbackWarning((site ?? '(none)').replace(/\/$/, ''), configFile, pages.length));
      },
    },
  };
}
