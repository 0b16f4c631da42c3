import { useEffect, useState } from 'preact/hooks';
import { api, isAborted, type Usage, type UsagePoint } from './api.js';
import { when } from './format.js';
import { html } from './html.js';

const PERIODS: [number, string][] = [
  [1, 'Last 24 hours'],
  [7, 'Last 7 days'],
  [30, 'Last 30 days'],
  [90, 'Last 90 days'],
];
const WIDTH = 720;
const HEIGHT = 160;
const REFUSED = ['invalid', 'forbidden', 'rate_limited', 'out_of_credits'] as const;

const refusedOf = (point: UsagePoint) => REFUSED.reduce((sum, outcome) => sum + point.counts[outcome], 0);
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** One sentence of totals; the chart's text alternative. */
function summaryOf(usage: Usage & { enabled: true }): string {
  const total = usage.totals.verified + REFUSED.reduce((sum, outcome) => sum + usage.totals[outcome], 0);
  if (total === 0) return 'No requests in this period.';
  const refused = REFUSED.filter((outcome) => usage.totals[outcome] > 0).map(
    (outcome) => `${usage.totals[outcome]} ${outcome.replace(/_/g, ' ')}`,
  );
  return `${plural(total, 'request')}: ${usage.totals.verified} verified${refused.length ? `, ${refused.join(', ')}` : ''}.`;
}

/** Stacked bars per bucket: verified below, refused above; each bar's title gives its counts. */
function Bars({ points }: { points: UsagePoint[] }) {
  const max = Math.max(1, ...points.map((point) => point.total));
  const step = WIDTH / points.length;
  const gap = step > 6 ? 1 : 0;
  const scale = (n: number) => (n / max) * (HEIGHT - 4);
  return html`<svg
    class="usage-chart"
    viewBox=${`0 0 ${WIDTH} ${HEIGHT}`}
    preserveAspectRatio="none"
    aria-hidden="true"
  >
    <line class="axis" x1="0" y1=${HEIGHT - 0.5} x2=${WIDTH} y2=${HEIGHT - 0.5} />
    ${points.map((point, i) => {
      const ok = scale(point.counts.verified);
      const refused = scale(refusedOf(point));
      return html`<g key=${point.start} class="bucket">
        <title>${when(point.start)}: ${point.counts.verified} verified, ${refusedOf(point)} refused</title>
        ${ok > 0 && html`<rect class="verified" x=${i * step} y=${HEIGHT - ok} width=${step - gap} height=${ok} />`}
        ${
          refused > 0 &&
          html`<rect class="refused" x=${i * step} y=${HEIGHT - ok - refused} width=${step - gap} height=${refused} />`
        }
      </g>`;
    })}
  </svg>`;
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
      <${Bars} points=${usage.points} />
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
