import { useEffect, useState } from 'preact/hooks';
import { api, isAborted, type Usage, type UsagePoint } from './api.js';
import { when } from './format.js';
import { html } from './html.js';
import { barLabel, countAxisTop, plural, REFUSED, refusedOf, timeTicks } from './usage-axes.js';

const PERIODS: [number, string][] = [
  [1, 'Last 24 hours'],
  [7, 'Last 7 days'],
  [30, 'Last 30 days'],
  [90, 'Last 90 days'],
];
const WIDTH = 720;
const HEIGHT = 160;

/** One sentence of totals; the chart's text alternative. */
function summaryOf(usage: Usage & { enabled: true }): string {
  const total = usage.totals.verified + REFUSED.reduce((sum, outcome) => sum + usage.totals[outcome], 0);
  if (total === 0) return 'No requests in this period.';
  const refused = REFUSED.filter((outcome) => usage.totals[outcome] > 0).map(
    (outcome) => `${usage.totals[outcome]} ${outcome.replace(/_/g, ' ')}`,
  );
  return `${plural(total, 'request')}: ${usage.totals.verified} verified${refused.length ? `, ${refused.join(', ')}` : ''}.`;
}

const MOVES: Record<string, (i: number, n: number) => number> = {
  ArrowLeft: (i) => i - 1,
  ArrowRight: (i) => i + 1,
  Home: () => 0,
  End: (_, n) => n - 1,
};

/**
 * Stacked bars per bucket (verified below, refused above) between a count axis and a time axis. The bars are
 * one tab stop: the arrow keys, Home and End move between them; each bar is an image whose label gives its
 * bucket and counts, which the line under the chart also shows for the bar focused or hovered.
 */
function Bars({ points, granularity }: { points: UsagePoint[]; granularity: 'hour' | 'day' }) {
  const [active, setActive] = useState(points.length - 1);
  const [shown, setShown] = useState<number | null>(null);
  const top = countAxisTop(Math.max(0, ...points.map((point) => point.total)));
  const step = WIDTH / points.length;
  const gap = step > 6 ? 1 : 0;
  const scale = (n: number) => (n / top) * HEIGHT;
  const current = Math.min(active, points.length - 1);
  const move = (event: KeyboardEvent) => {
    const next = MOVES[event.key]?.(current, points.length);
    if (next === undefined) return;
    event.preventDefault();
    const index = Math.max(0, Math.min(points.length - 1, next));
    setActive(index);
    (event.currentTarget as SVGElement).querySelectorAll<SVGGElement>('g.bucket')[index]?.focus();
  };
  const unit = granularity === 'day' ? 'day' : 'hour';
  return html`<div class="usage-plot">
    <p class="axis-title count-title" id="usage-count-title">Requests per ${unit}</p>
    <div class="count-axis" aria-hidden="true"><span>${top}</span><span>${top / 2}</span><span>0</span></div>
    <svg
      class="usage-chart"
      viewBox=${`0 0 ${WIDTH} ${HEIGHT}`}
      preserveAspectRatio="none"
      role="group"
      aria-label=${`Requests per ${unit}, one bar each; the arrow keys move between bars`}
      onKeyDown=${move}
      onMouseLeave=${() => setShown(null)}
    >
      <line class="grid" x1="0" y1=${HEIGHT / 2} x2=${WIDTH} y2=${HEIGHT / 2} vector-effect="non-scaling-stroke" />
      ${points.map((point, i) => {
        const ok = scale(point.counts.verified);
        const refused = scale(refusedOf(point));
        return html`<g
          key=${point.start}
          class="bucket"
          role="img"
          tabindex=${i === current ? 0 : -1}
          aria-label=${barLabel(point, granularity)}
          onFocus=${() => (setActive(i), setShown(i))}
          onBlur=${() => setShown(null)}
          onMouseEnter=${() => setShown(i)}
        >
          <rect class="hit" x=${i * step} y="0" width=${step} height=${HEIGHT} />
          ${ok > 0 && html`<rect class="verified" x=${i * step} y=${HEIGHT - ok} width=${step - gap} height=${ok} />`}
          ${
            refused > 0 &&
            html`<rect
              class="refused"
              x=${i * step}
              y=${HEIGHT - ok - refused}
              width=${step - gap}
              height=${refused}
            />`
          }
        </g>`;
      })}
      <line class="axis" x1="0" y1=${HEIGHT} x2=${WIDTH} y2=${HEIGHT} vector-effect="non-scaling-stroke" />
      <line class="axis" x1="0" y1="0" x2="0" y2=${HEIGHT} vector-effect="non-scaling-stroke" />
    </svg>
    <div class="time-axis" aria-hidden="true">
      ${timeTicks(points, granularity).map((tick, i) => html`<span key=${i} class=${tick ? 'tick' : undefined}>${tick}</span>`)}
    </div>
    <p class="axis-title time-title">Time (${granularity === 'day' ? 'days' : 'hours'}, your local time)</p>
    <p class="usage-readout" aria-hidden="true">
      ${
        shown === null
          ? 'Hover over a bar, or focus the chart and use the arrow keys, to read its counts.'
          : barLabel(points[shown], granularity)
      }
    </p>
  </div>`;
}

/** The key page's usage panel: a period picker, the bars, and their totals in words. */
export function UsagePanel({ id }: { id: string }) {
  const [days, setDays] = useState(7);
  const [usage, setUsage] = useState<Usage | null>(null);
  const [error, setError] = useState('');
  useEffect(() => {
    const call = new AbortController(); // another period or key replaces this answer
    api<Usage>('GET', `/keys/${id}/usage?days=${days}`, undefined, call.signal)
      .then((result) => (setUsage(result), setError('')))
      .catch((failure: Error) => isAborted(failure) || setError(failure.message));
    return () => call.abort();
  }, [id, days]);
  let body;
  if (error) body = html`<p class="error" role="alert">${error}</p>`;
  else if (!usage) body = html`<p>Loading…</p>`;
  else if (!usage.enabled)
    body = html`<p class="empty">No data: this app does not record usage (the <code>usage</code> option is off).</p>`;
  else
    body = html`<p class="usage-summary">${summaryOf(usage)}</p>
      <${Bars} points=${usage.points} granularity=${usage.granularity} key=${`${days}:${usage.points.length}`} />
      <p class="legend">
        <span class="swatch verified"></span> verified <span class="swatch refused"></span>
        ${` refused, per ${usage.granularity}, from ${when(usage.points[0]?.start ?? null)}; counts are written behind (about once a minute).`}
      </p>`;
  return html`<section aria-labelledby="usage-title" class="panel">
    <h2 id="usage-title">Usage</h2>
    <div class="field">
      <label for="usage-period">Usage period</label>
      <select
        id="usage-period"
        value=${days}
        onChange=${(e: Event) => setDays(Number((e.target as HTMLSelectElement).value))}
      >
        ${PERIODS.map(([value, label]) => html`<option value=${value}>${label}</option>`)}
      </select>
    </div>
    ${body}
  </section>`;
}
