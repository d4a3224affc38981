/**
 * What a unit page shows, for filters and classes alike (src/layouts/UnitPage.astro): its units
 * (one per method), title, image description, breadcrumbs and previous/next links.
 */
import type { Atlas, ManifestUnit } from './atlas.ts';
import { pages } from '../../pipeline/output/paths.ts';

export interface PageLink {
  /** Base-relative page path. */
  page: string;
  label: string;
}

export interface UnitPageProps {
  title: string;
  heading: string;
  /** Describes the images (alt text, snippets, social card). */
  alt: string;
  /** Base-relative: model → … → this page (the last one is not a link). */
  crumbs: PageLink[];
  pager: { label: string; prev?: PageLink; next?: PageLink };
  units: ManifestUnit[];
}

/** Every filter page: `layers/<slug>/<index>/`. */
export function filterPages(a: Atlas) {
  return a.layers.flatMap((layer) =>
    layer.filters.map((f, i) => {
      const link = (index: number | undefined): PageLink | undefined => (index === undefined ? undefined : { page: pages.filter(layer.name, index), label: `filter ${index}` });
      const props: UnitPageProps = {
        title: `${layer.name} filter ${f}`,
        heading: `${layer.name} · filter ${f}`,
        alt: `Input that maximizes filter ${f} of layer ${layer.name} of ${a.model.id}`,
        crumbs: [
          { page: pages.home(), label: a.model.id },
          { page: pages.layer(layer.name), label: layer.name },
          { page: pages.filter(layer.name, f), label: `filter ${f}` },
        ],
        pager: { label: 'Filters of this layer', prev: link(layer.filters[i - 1]), next: link(layer.filters[i + 1]) },
        units: a.unitsOfFilter(layer.name, f),
      };
      return { params: { layer: layer.slug, filter: String(f) }, props };
    }),
  );
}

/** Every class page: `classes/<id>/`. */
export function classPages(a: Atlas) {
  const name = (id: number) => `${id} ${a.classLabel(id)}`;
  const link = (c: { id: number } | undefined): PageLink | undefined => (c ? { page: pages.class(c.id), label: name(c.id) } : undefined);
  return a.classes.map((c, i) => {
    const label = a.classLabel(c.id);
    const props: UnitPageProps = {
      title: `Class ${c.id}: ${label}`,
      heading: `Class ${c.id}: ${label}`,
      alt: `Image that ${a.model.id} takes for class ${c.id}, ${label}`,
      crumbs: [
        { page: pages.home(), label: a.model.id },
        { page: pages.classes(), label: 'classes' },
        { page: pages.class(c.id), label: name(c.id) },
      ],
      pager: { label: 'Classes', prev: link(a.classes[i - 1]), next: link(a.classes[i + 1]) },
      units: a.unitsOfClass(c.id),
    };
    return { params: { id: String(c.id) }, props };
  });
}
