/// <reference lib="dom" />
import type { Snapshot } from '../api.ts';
import { card, fill, h } from './dom.ts';
import { formatDuration } from './format.ts';
import type { Panel } from './panel.ts';

/** The pipeline's dependencies, each probed by the snapshot: up or down, and the probe's latency. */
export function createServicesPanel(): Panel {
  const list = h('ul', { class: 'services' });
  const element = card('services', 'Services', list);
  const onSnapshot = (snapshot: Snapshot): void => {
    fill(
      list,
      ...snapshot.services.map((service) =>
        h(
          'li',
          {
            'data-service': service.name,
            'data-state': service.up ? 'up' : 'down',
            class: service.up ? 'up' : 'down',
          },
          h('span', { class: 'dot' }),
          h('span', { class: 'name' }, service.name),
          h('span', { class: 'latency' }, service.up ? formatDuration(service.latencyMs) : 'down'),
          service.error === undefined ? null : h('span', { class: 'why' }, service.error),
        ),
      ),
    );
  };
  return { element, onSnapshot };
}
