/**
 * The dashboard's browser code. It runs in the page, never in Node: the page embeds
 * `dashboardClient.toString()`, so this function must stay self-contained (no imports, no closure
 * over module scope) and use only what every current browser has. It reads
 * `GET …/optimization/dashboard/data` every `pollMs`, and draws SVG by hand (no chart library, no
 * network but that endpoint). Text goes in with `textContent` only, never as HTML.
 *
 * A panel is one entry of `PANELS`: an id, a title, the data section it reads, and a `render`.
 */
export function dashboardClient(config: { dataUrl: string; pollMs: number; mode: 'live' | 'static'; data?: unknown }): void {
  type Data = Record<string, unknown> & { has_data?: boolean; generated_at?: string; errors?: string[] };
  type Point = { t: number; calls: Record<string, number>; models: Record<string, { calls: number; p50_ms: number; p95_ms: number; tokens_per_second: number | null }> };
  type Mark = { t: number; kind: string; label: string; detail?: string };
  interface Line { name: string; cls: string; dashed?: boolean; points: [number, number][] }
  interface Panel { id: string; title: string; section: string; wide?: boolean; render(body: HTMLElement, value: unknown, data: Data): void }

  const SVG = 'http://www.w3.org/2000/svg';
  const OUTCOMES = ['hit', 'coalesced', 'miss', 'bypass', 'error'];
  const MINUTE = 60_000;
  const H = 200;
  const PAD = { l: 52, r: 22, t: 14, b: 24 };
  /** Charts are drawn at their panel's width (redrawn on resize), so their text stays at its CSS size. */
  const widthOf = (body: HTMLElement): number => Math.round(Math.min(1400, Math.max(260, body.clientWidth || 560)));

  const el = <K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  };
  const svg = (tag: string, attrs: Record<string, string | number> = {}, text?: string): SVGElement => {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    return node;
  };
  const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  const fmt = (v: number, digits = 1): string => (Math.abs(v) >= 100 ? Math.round(v).toLocaleString('en') : v.toFixed(digits).replace(/\.0+$/, ''));
  const ms = (v: number): string => (v >= 1000 ? `${fmt(v / 1000, 2)} s` : `${fmt(v, v < 10 ? 2 : 1)} ms`);
  const clock = (t: number): string => new Date(t).toISOString().slice(11, 16);
  const empty = (body: HTMLElement, text: string): void => void body.append(el('p', { class: 'empty' }, text));

  /** A time chart: lines or stacked bars over minutes, with marks (anomalies) as labelled rules. */
  function chart(body: HTMLElement, o: { label: string; unit: (v: number) => string; lines?: Line[]; bars?: { t: number; parts: [string, number][] }[]; marks?: Mark[]; from: number; to: number; max?: number }): void {
    const values: number[] = [];
    for (const l of o.lines ?? []) for (const p of l.points) values.push(p[1]);
    for (const b of o.bars ?? []) values.push(b.parts.reduce((s, p) => s + p[1], 0));
    const max = o.max ?? Math.max(1, ...values) * 1.1;
    const W = widthOf(body);
    const span = Math.max(MINUTE, o.to - o.from);
    const x = (t: number): number => PAD.l + ((t - o.from) / span) * (W - PAD.l - PAD.r);
    const y = (v: number): number => H - PAD.b - (Math.min(v, max) / max) * (H - PAD.t - PAD.b);
    const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': o.label, tabindex: '0', class: 'chart' });
    root.append(svg('title', {}, o.label));
    for (let i = 0; i <= 4; i++) {
      const v = (max * i) / 4;
      root.append(svg('line', { x1: PAD.l, x2: W - PAD.r, y1: y(v), y2: y(v), class: 'grid' }));
      root.append(svg('text', { x: PAD.l - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'axis' }, o.unit(v)));
    }
    const ticks = Math.min(Math.max(2, Math.floor(W / 90)), Math.max(1, Math.round(span / MINUTE)));
    for (let i = 0; i <= ticks; i++) {
      const t = o.from + (span * i) / ticks;
      root.append(svg('text', { x: x(t), y: H - 6, 'text-anchor': i === ticks ? 'end' : i === 0 ? 'start' : 'middle', class: 'axis' }, clock(t)));
    }
    const barW = Math.max(4, ((W - PAD.l - PAD.r) * MINUTE) / span - 2);
    for (const b of o.bars ?? []) {
      let base = 0;
      for (const [cls, v] of b.parts) {
        if (v <= 0) continue;
        root.append(svg('rect', { x: x(b.t) + 1, y: y(base + v), width: barW, height: Math.max(0.5, y(base) - y(base + v)), class: `fill-${cls}` }));
        base += v;
      }
    }
    for (const l of o.lines ?? []) {
      if (l.points.length === 0) continue;
      const d = l.points.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p[0] + MINUTE / 2).toFixed(1)},${y(p[1]).toFixed(1)}`).join('');
      root.append(svg('path', { d, class: `line ${l.cls}${l.dashed === true ? ' dashed' : ''}` }));
      for (const p of l.points) root.append(svg('circle', { cx: x(p[0] + MINUTE / 2), cy: y(p[1]), r: 2.5, class: `dot ${l.cls}` }));
    }
    for (const m of o.marks ?? []) {
      const mx = Math.min(W - PAD.r, Math.max(PAD.l, x(m.t)));
      const g = svg('g', { class: 'mark' });
      g.append(svg('line', { x1: mx, x2: mx, y1: PAD.t, y2: H - PAD.b }), svg('text', { x: mx + 3, y: PAD.t + 10 }, `⚠ ${m.label}`));
      g.append(svg('title', {}, `${m.label} (${m.detail ?? ''}) at ${clock(m.t)}`));
      root.append(g);
    }
    body.append(root);
  }

  function legend(body: HTMLElement, items: [string, string][], caption?: string): void {
    const list = el('ul', { class: 'legend' });
    if (caption !== undefined) list.append(el('li', { class: 'legend-caption' }, caption));
    for (const [cls, text] of items) {
      const li = el('li');
      li.append(el('span', { class: `swatch fill-${cls}`, 'aria-hidden': 'true' }), document.createTextNode(text));
      list.append(li);
    }
    body.append(list);
  }

  function range(points: Point[]): { from: number; to: number } {
    const from = points[0]?.t ?? Date.now();
    return { from, to: Math.max(from + MINUTE, (points.at(-1)?.t ?? from) + MINUTE) };
  }

  function marksFor(data: Data, metrics: string[]): Mark[] {
    const a = data.anomalies as { marks?: Mark[] } | null | undefined;
    return (a?.marks ?? []).filter((m) => metrics.includes(m.kind));
  }

  function models(points: Point[]): string[] {
    const names = new Set<string>();
    for (const p of points) for (const m of Object.keys(p.models)) names.add(m);
    return [...names].slice(0, 8);
  }

  function stat(body: HTMLElement, label: string, value: string, id?: string): void {
    const box = el('div', { class: 'stat' });
    box.append(el('span', { class: 'stat-label' }, label), el('span', id === undefined ? { class: 'stat-value' } : { class: 'stat-value', id }, value));
    body.append(box);
  }

  const PANELS: Panel[] = [
    {
      id: 'score', title: 'Efficiency score', section: 'summary',
      render(body, value) {
        const s = value as Record<string, number | string | null>;
        const score = num(s.efficiency_score);
        const meter = el('div', { class: 'score' });
        meter.append(el('span', { class: 'score-value', id: 'score-value' }, fmt(score, 0)), el('span', { class: `badge ${String(s.status)}` }, String(s.status)));
        const bar = el('div', { class: 'meter', role: 'meter', 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': String(score), 'aria-label': 'Efficiency score' });
        const fill = el('div', { class: 'meter-fill' });
        fill.style.width = `${Math.max(0, Math.min(100, score))}%`;
        bar.append(fill);
        body.append(meter, bar);
        const grid = el('div', { class: 'stats' });
        stat(grid, 'Calls', fmt(num(s.total_calls), 0), 'total-calls');
        stat(grid, 'Hit rate', `${fmt(num(s.hit_rate_percent))} %`);
        stat(grid, 'Answered without model', `${fmt(num(s.answered_without_model_percent))} %`);
        stat(grid, 'Model calls', fmt(num(s.model_calls), 0));
        stat(grid, 'Errors', fmt(num(s.errors), 0));
        stat(grid, 'Time saved', `${fmt(num(s.time_saved_seconds))} s`);
        body.append(grid);
      },
    },
    {
      id: 'calls', title: 'Calls per minute by outcome', section: 'series', wide: true,
      render(body, value, data) {
        const points = value as Point[];
        if (points.length === 0) return empty(body, 'No calls yet.');
        chart(body, {
          label: `Calls per minute by outcome; last minute ${OUTCOMES.map((o) => `${o} ${num(points.at(-1)?.calls[o])}`).join(', ')}`,
          unit: (v) => fmt(v, 0), ...range(points),
          bars: points.map((p) => ({ t: p.t, parts: OUTCOMES.map((o): [string, number] => [o, num(p.calls[o])]) })),
          marks: marksFor(data, ['requests', 'errorRate']),
        });
        legend(body, OUTCOMES.map((o): [string, string] => [o, `${o} ${num(points.at(-1)?.calls[o])}`]), 'Last minute:');
      },
    },
    {
      id: 'rates', title: 'Hit rate and answered without the model', section: 'series',
      render(body, value, data) {
        const points = value as Point[];
        if (points.length === 0) return empty(body, 'No calls yet.');
        const rate = (p: Point, answered: boolean): number => {
          const c = p.calls;
          const saved = num(c.hit) + (answered ? num(c.coalesced) : 0);
          const total = num(c.hit) + num(c.coalesced) + num(c.miss) + (answered ? num(c.bypass) + num(c.error) : 0);
          return total === 0 ? 0 : (100 * saved) / total;
        };
        chart(body, {
          label: 'Hit rate and share of calls answered without the model, per minute, in percent', unit: (v) => `${fmt(v, 0)}%`, max: 100, ...range(points),
          lines: [
            { name: 'hit rate', cls: 'c0', points: points.map((p) => [p.t, rate(p, false)]) },
            { name: 'answered without model', cls: 'c1', dashed: true, points: points.map((p) => [p.t, rate(p, true)]) },
          ],
          marks: marksFor(data, ['hitRate']),
        });
        const last = points.at(-1) as Point;
        legend(body, [['c0', `hit rate ${fmt(rate(last, false))} %`], ['c1', `answered without model ${fmt(rate(last, true))} %`]]);
      },
    },
    {
      id: 'latency', title: 'Model latency p50 / p95 per model', section: 'series', wide: true,
      render(body, value, data) {
        const points = value as Point[];
        const names = models(points);
        if (names.length === 0) return empty(body, 'No model calls yet.');
        const lines: Line[] = [];
        names.forEach((m, i) => {
          const pts = points.filter((p) => p.models[m] !== undefined);
          lines.push({ name: `${m} p50`, cls: `c${i % 6}`, points: pts.map((p) => [p.t, num(p.models[m]?.p50_ms)]) });
          lines.push({ name: `${m} p95`, cls: `c${i % 6}`, dashed: true, points: pts.map((p) => [p.t, num(p.models[m]?.p95_ms)]) });
        });
        chart(body, { label: 'Latency of model calls per model, p50 solid and p95 dashed', unit: ms, ...range(points), lines, marks: marksFor(data, ['responseTimeMs', 'msPerToken', 'loadMs']) });
        legend(body, names.map((m, i): [string, string] => {
          const last = [...points].reverse().find((p) => p.models[m] !== undefined)?.models[m];
          return [`c${i % 6}`, `${m}: p50 ${ms(num(last?.p50_ms))}, p95 ${ms(num(last?.p95_ms))}`];
        }));
      },
    },
    {
      id: 'tokens', title: 'Tokens per second per model', section: 'series',
      render(body, value, data) {
        const points = value as Point[];
        const names = models(points).filter((m) => points.some((p) => p.models[m]?.tokens_per_second != null));
        if (names.length === 0) return empty(body, 'No token counts reported yet.');
        chart(body, {
          label: 'Generated tokens per second per model', unit: (v) => fmt(v, 0), ...range(points),
          lines: names.map((m, i) => ({ name: m, cls: `c${i % 6}`, points: points.filter((p) => p.models[m]?.tokens_per_second != null).map((p): [number, number] => [p.t, num(p.models[m]?.tokens_per_second)]) })),
          marks: marksFor(data, ['tokensPerSecond']),
        });
        legend(body, names.map((m, i): [string, string] => [`c${i % 6}`, `${m}: ${fmt(num([...points].reverse().find((p) => p.models[m]?.tokens_per_second != null)?.models[m]?.tokens_per_second))} tokens/s`]));
      },
    },
    {
      id: 'optimizations', title: 'Optimizations applied and reverted', section: 'optimizations', wide: true,
      render(body, value) {
        const v = value as { marks: Mark[]; history: { t: number; type: string; action: string; status: string }[] };
        const seen = new Set(v.marks.filter((m) => m.kind === 'applied').map((m) => `${m.t}|${m.label}`));
        const marks = [...v.history.filter((h) => !seen.has(`${h.t}|${h.type}`)).map((h): Mark => ({ t: h.t, kind: 'applied', label: h.type, detail: h.action })), ...v.marks].sort((a, b) => a.t - b.t);
        if (marks.length === 0) return empty(body, 'No optimization applied yet.');
        const from = marks[0]?.t ?? 0;
        const to = Math.max(from + MINUTE, marks.at(-1)?.t ?? 0);
        const W = widthOf(body);
        const x = (t: number): number => PAD.l + ((t - from) / (to - from)) * (W - PAD.l - PAD.r);
        const root = svg('svg', { viewBox: `0 0 ${W} 70`, role: 'img', tabindex: '0', class: 'chart timeline', 'aria-label': `${marks.length} optimizer changes` });
        root.append(svg('line', { x1: PAD.l, x2: W - PAD.r, y1: 35, y2: 35, class: 'grid' }));
        for (const m of marks) {
          const g = svg('g', { class: `tl-${m.kind}` });
          g.append(svg('path', { d: m.kind === 'reverted' ? `M${x(m.t) - 6},40 L${x(m.t) + 6},40 L${x(m.t)},52 Z` : `M${x(m.t) - 6},30 L${x(m.t) + 6},30 L${x(m.t)},18 Z` }));
          g.append(svg('title', {}, `${m.kind}: ${m.label} at ${clock(m.t)}`));
          root.append(g);
        }
        root.append(svg('text', { x: PAD.l, y: 66, class: 'axis' }, clock(from)), svg('text', { x: W - PAD.r, y: 66, 'text-anchor': 'end', class: 'axis' }, clock(to)));
        body.append(root);
        legend(body, [['applied', 'applied ▲'], ['reverted', 'reverted ▼']]);
        const list = el('ol', { class: 'events' });
        for (const m of marks.slice(-6).reverse()) list.append(el('li', {}, `${clock(m.t)} ${m.kind} · ${m.label}: ${m.detail ?? ''}`));
        body.append(list);
      },
    },
    {
      id: 'miss-causes', title: 'Miss causes', section: 'miss_causes',
      render(body, value) {
        const causes = Object.entries(value as Record<string, number>);
        const total = causes.reduce((s, [, n]) => s + num(n), 0);
        if (total === 0) return empty(body, 'No misses yet.');
        const list = el('ul', { class: 'bars' });
        for (const [cause, n] of causes) {
          const li = el('li');
          const bar = el('span', { class: 'bar' });
          bar.style.width = num(n) === 0 ? '0' : `max(2px, ${(100 * num(n)) / total}%)`;
          li.append(el('span', { class: 'bar-label' }, `${cause}: ${num(n)} (${fmt((100 * num(n)) / total)} %)`), bar);
          list.append(li);
        }
        body.append(list);
      },
    },
    {
      id: 'health', title: 'Circuits and store health', section: 'health',
      render(body, value) {
        const h = value as { status: string; checks: { name: string; status: string; reason: string | null }[]; circuits: { model: string; state: string; consecutive_failures: number }[]; cache: Record<string, number | null> };
        const top = el('p');
        top.append(document.createTextNode('Overall: '), el('span', { class: `badge ${h.status}` }, h.status));
        body.append(top);
        const table = el('table');
        table.append(el('caption', { class: 'sr-only' }, 'Health checks and circuits'));
        const head = el('tr');
        head.append(el('th', { scope: 'col' }, 'Part'), el('th', { scope: 'col' }, 'State'), el('th', { scope: 'col' }, 'Detail'));
        table.append(head);
        const row = (name: string, state: string, detail: string): void => {
          const tr = el('tr');
          const cell = el('td');
          cell.append(el('span', { class: `badge ${state}` }, state));
          tr.append(el('td', {}, name), cell, el('td', {}, detail));
          table.append(tr);
        };
        for (const c of h.checks) row(c.name, c.status, c.reason ?? '');
        for (const c of h.circuits) row(`circuit ${c.model}`, c.state, c.consecutive_failures > 0 ? `${c.consecutive_failures} failures in a row` : '');
        row('cache', 'ok', `${num(h.cache.size)} / ${num(h.cache.max_size)} entries, ${fmt(num(h.cache.bytes) / 1024)} KiB, ${num(h.cache.evictions)} evicted`);
        body.append(table);
      },
    },
    {
      id: 'anomalies', title: 'Anomalies', section: 'anomalies',
      render(body, value) {
        const a = value as { recent: { t: number; type: string; metric: string; severity: string; message: string; count: number }[] };
        if (a.recent.length === 0) return empty(body, 'No recent anomaly.');
        const list = el('ul', { class: 'events' });
        for (const r of a.recent) {
          const li = el('li');
          li.append(el('span', { class: `badge ${r.severity}` }, r.severity), document.createTextNode(` ${clock(r.t)} ${r.message} (×${r.count})`));
          list.append(li);
        }
        body.append(list);
      },
    },
    {
      id: 'recommendations', title: 'Recommendations', section: 'recommendations', wide: true,
      render(body, value) {
        const recs = value as { priority: string; message: string; action: string }[];
        if (recs.length === 0) return empty(body, 'Nothing to recommend.');
        const list = el('ul', { class: 'events' });
        for (const r of recs) {
          const li = el('li');
          li.append(el('span', { class: `badge ${r.priority}` }, r.priority), document.createTextNode(` ${r.message} `), el('strong', {}, r.action));
          list.append(li);
        }
        body.append(list);
      },
    },
  ];

  const main = document.getElementById('panels') as HTMLElement;
  const status = document.getElementById('status') as HTMLElement;
  const banner = document.getElementById('banner') as HTMLElement;

  /** One set of panels in `container`; ids prefixed so that several sets (the static report's services) can share a page. */
  function build(container: HTMLElement, prefix: string, heading: 'h2' | 'h3'): Map<string, HTMLElement> {
    const bodies = new Map<string, HTMLElement>();
    for (const p of PANELS) {
      const section = el('section', { class: p.wide === true ? 'panel wide' : 'panel', id: `panel-${prefix}${p.id}`, 'aria-labelledby': `title-${prefix}${p.id}` });
      section.append(el(heading, { id: `title-${prefix}${p.id}` }, p.title));
      const body = el('div', { class: 'panel-body' });
      section.append(body);
      container.append(section);
      bodies.set(p.id, body);
    }
    return bodies;
  }

  function draw(bodies: Map<string, HTMLElement>, data: Data): void {
    for (const p of PANELS) {
      const body = bodies.get(p.id) as HTMLElement;
      body.replaceChildren();
      const value = data[p.section];
      if (value === null || value === undefined) {
        empty(body, 'Not available.');
        continue;
      }
      try {
        p.render(body, value, data);
      } catch {
        body.replaceChildren();
        empty(body, 'This panel could not be drawn.');
      }
    }
  }

  let redraw: (() => void) | undefined;
  let resizing: ReturnType<typeof setTimeout> | undefined;
  window.addEventListener('resize', () => {
    clearTimeout(resizing);
    resizing = setTimeout(() => redraw?.(), 150);
  });

  if (config.mode === 'static') {
    const services = config.data as { title: string; data: Data }[];
    const sets = services.map((service, i) => {
      const heading = el('h2', { class: 'service' }, service.title);
      main.append(heading);
      return { bodies: build(main, `${i}-`, 'h3'), data: service.data };
    });
    redraw = () => sets.forEach((set) => draw(set.bodies, set.data));
    redraw();
    banner.hidden = true;
    status.textContent = `Report generated ${String(services[0]?.data.generated_at ?? '')}`;
    return;
  }

  const bodies = build(main, '', 'h2');
  function show(data: Data): void {
    banner.hidden = data.has_data === true;
    banner.textContent = 'No calls yet: the engine has recorded nothing since it started. Panels fill in as calls arrive.';
    draw(bodies, data);
    redraw = () => draw(bodies, data);
    document.body.dataset.updated = String(data.generated_at ?? '');
  }

  let paused = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const pause = document.getElementById('pause') as HTMLButtonElement;
  const refresh = document.getElementById('refresh') as HTMLButtonElement;

  async function poll(): Promise<void> {
    clearTimeout(timer);
    try {
      const response = await fetch(config.dataUrl, { credentials: 'same-origin', cache: 'no-store', headers: { accept: 'application/json' } });
      if (response.status === 401 || response.status === 403) {
        document.body.dataset.state = 'unauthorized';
        status.textContent = response.status === 401 ? 'Not signed in: the engine refused the dashboard data (401). Sign in again and reload.' : 'Not authorized: this account may not read the dashboard data (403).';
      } else if (!response.ok) {
        status.textContent = `The engine answered ${response.status}; retrying.`;
      } else {
        show((await response.json()) as Data);
        document.body.dataset.state = 'live';
        status.textContent = `Updated ${new Date().toLocaleTimeString()}`;
      }
    } catch {
      status.textContent = 'Cannot reach the engine; retrying.';
    }
    if (!paused) timer = setTimeout(() => void poll(), config.pollMs);
  }

  pause.hidden = false;
  refresh.hidden = false;
  pause.addEventListener('click', () => {
    paused = !paused;
    pause.textContent = paused ? 'Resume updates' : 'Pause updates';
    pause.setAttribute('aria-pressed', String(paused));
    if (paused) clearTimeout(timer);
    else void poll();
  });
  refresh.addEventListener('click', () => void poll());
  void poll();
}
