import { createHash } from 'node:crypto';
import { dashboardClient } from './client.js';

/** How often the live page reads its data, in ms. */
export const POLL_MS = 5_000;

const STYLE = `
:root{color-scheme:light dark;--bg:#f6f7f9;--panel:#fff;--text:#1b1f24;--muted:#59636e;--grid:#d8dee4;--focus:#0969da;
--hit:#1a7f37;--coalesced:#0969da;--miss:#bc4c00;--bypass:#8c959f;--error:#cf222e;
--c0:#0969da;--c1:#8250df;--c2:#bc4c00;--c3:#1a7f37;--c4:#bf3989;--c5:#4d2d00}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--panel:#161b22;--text:#e6edf3;--muted:#9198a1;--grid:#30363d;--focus:#58a6ff;
--hit:#3fb950;--coalesced:#58a6ff;--miss:#f0883e;--bypass:#6e7681;--error:#f85149;
--c0:#58a6ff;--c1:#bc8cff;--c2:#f0883e;--c3:#3fb950;--c4:#ff7ab2;--c5:#d29922}}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--bg);color:var(--text)}
a.skip{position:absolute;left:-999px}a.skip:focus{left:8px;top:8px;background:var(--panel);padding:6px;z-index:2}
header{display:flex;flex-wrap:wrap;gap:8px 16px;align-items:center;justify-content:space-between;padding:12px 16px}
h1{font-size:1.25rem;margin:0}
.controls{display:flex;gap:8px;align-items:center;flex-wrap:wrap}
button{font:inherit;padding:6px 12px;border-radius:6px;border:1px solid var(--grid);background:var(--panel);color:var(--text);cursor:pointer}
:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
#status{color:var(--muted);font-size:.875rem}
#banner{margin:0 16px 12px;padding:10px 14px;border-radius:8px;background:var(--panel);border-left:4px solid var(--coalesced)}
main{display:grid;gap:12px;padding:0 16px 16px;grid-template-columns:repeat(auto-fit,minmax(min(100%,22rem),1fr))}
.panel{background:var(--panel);border:1px solid var(--grid);border-radius:8px;padding:12px 14px;min-width:0}
@media (min-width:60rem){.panel.wide{grid-column:span 2}}
h2,h3{font-size:1rem;margin:0 0 8px}
h2.service{grid-column:1/-1;font-size:1.15rem;margin:12px 0 0}
.chart{width:100%;height:auto;display:block}
.grid{stroke:var(--grid);stroke-width:1}
.axis{fill:var(--muted);font-size:11px}
.line{fill:none;stroke-width:2}.dashed{stroke-dasharray:5 4}
.dot{stroke:none}
.mark line{stroke:var(--error);stroke-width:1.5;stroke-dasharray:3 3}.mark text{fill:var(--error);font-size:11px}
.fill-hit{fill:var(--hit);background:var(--hit)}.fill-coalesced{fill:var(--coalesced);background:var(--coalesced)}
.fill-miss{fill:var(--miss);background:var(--miss)}.fill-bypass{fill:var(--bypass);background:var(--bypass)}
.fill-error{fill:var(--error);background:var(--error)}
.c0{stroke:var(--c0);fill:var(--c0)}.c1{stroke:var(--c1);fill:var(--c1)}.c2{stroke:var(--c2);fill:var(--c2)}
.c3{stroke:var(--c3);fill:var(--c3)}.c4{stroke:var(--c4);fill:var(--c4)}.c5{stroke:var(--c5);fill:var(--c5)}
.line.c0,.line.c1,.line.c2,.line.c3,.line.c4,.line.c5{fill:none}
.fill-c0{background:var(--c0)}.fill-c1{background:var(--c1)}.fill-c2{background:var(--c2)}.fill-c3{background:var(--c3)}.fill-c4{background:var(--c4)}.fill-c5{background:var(--c5)}
.tl-applied{fill:var(--hit)}.tl-reverted{fill:var(--error)}.fill-applied{background:var(--hit)}.fill-reverted{background:var(--error)}
.legend{list-style:none;margin:6px 0 0;padding:0;display:flex;flex-wrap:wrap;gap:4px 14px;font-size:.85rem}
.legend-caption{color:var(--muted)}
.swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:5px}
.empty{color:var(--muted);margin:8px 0}
.score{display:flex;align-items:baseline;gap:10px}.score-value{font-size:2.6rem;font-weight:700}
.meter{height:8px;background:var(--grid);border-radius:4px;overflow:hidden;margin:4px 0 10px}.meter-fill{height:100%;background:var(--hit)}
.stats{display:grid;grid-template-columns:repeat(auto-fit,minmax(8.5rem,1fr));gap:8px}
.stat{display:flex;flex-direction:column}.stat-label{color:var(--muted);font-size:.8rem}.stat-value{font-size:1.1rem;font-weight:600}
.badge{display:inline-block;padding:0 7px;border-radius:10px;font-size:.8rem;border:1px solid currentColor}
.badge.ok,.badge.closed,.badge.excellent,.badge.good,.badge.low{color:var(--hit)}
.badge.degraded,.badge.half-open,.badge.fair,.badge.medium{color:var(--miss)}
.badge.down,.badge.open,.badge.poor,.badge.high{color:var(--error)}
table{width:100%;border-collapse:collapse;font-size:.875rem}th,td{text-align:left;padding:4px 6px;border-bottom:1px solid var(--grid);vertical-align:top}
.bars{list-style:none;padding:0;margin:0}.bars li{margin:6px 0}.bar{display:block;height:8px;border-radius:4px;background:var(--miss)}
.events{margin:6px 0 0;padding-left:1.1rem;font-size:.875rem}.events li{margin:4px 0;overflow-wrap:anywhere}
.sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
`;

/** JSON for a `<script>` element: `<` escaped, so no value can close the element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text).digest('base64')}'`;
}

function document(title: string, script: string, live: boolean): string {
  const controls = live
    ? '<button id="pause" type="button" aria-pressed="false" hidden>Pause updates</button><button id="refresh" type="button" hidden>Refresh now</button>'
    : '<button id="pause" type="button" hidden></button><button id="refresh" type="button" hidden></button>';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer"><link rel="icon" href="data:,"><title>${title}</title><style>${STYLE}</style></head>
<body><a class="skip" href="#panels">Skip to the panels</a>
<header><h1>${title}</h1><div class="controls">${controls}<span id="status" role="status" aria-live="polite">Loading…</span></div></header>
<p id="banner" hidden></p>
<main id="panels" tabindex="-1"></main>
<noscript><p>The dashboard needs JavaScript.</p></noscript>
<script>${script}</script></body></html>`;
}

/**
 * The client's source as a call. A compiler that keeps function names (esbuild's `keepNames`, as
 * tsx runs it) wraps nested functions in a `__name` helper that only exists in the module: the
 * page gets a stand-in.
 */
function clientCall(config: unknown): string {
  return `(function(){var __name=function(t){return t};(${dashboardClient.toString()})(${scriptJson(config)});})();`;
}

const LIVE_SCRIPT = clientCall({ dataUrl: 'dashboard/data', pollMs: POLL_MS, mode: 'live' });

/** The live page (the same bytes for every request: the data comes from `dashboard/data`, relative to it, so any `basePath` works). */
export const DASHBOARD_HTML = document('LLM optimization engine', LIVE_SCRIPT, true);

/**
 * Nothing but the page's own style and script may run, and nothing but its data endpoint may be
 * fetched; the page may not be framed.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'", `script-src ${sha256(LIVE_SCRIPT)}`, `style-src ${sha256(STYLE)}`, "connect-src 'self'", "img-src 'self' data:",
  "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
].join('; ');

/** A self-contained HTML file of dashboard data snapshots, one set of panels each (the demo's report): no polling, no network. */
export function staticDashboardHtml(services: readonly { title: string; data: unknown }[], title: string): string {
  const script = clientCall({ dataUrl: '', pollMs: 0, mode: 'static', data: services });
  return document(title.replace(/[<>&"']/g, ''), script, false);
}

/** The page shown instead of the dashboard when `authorize` refuses it. */
export function refusalHtml(status: 401 | 403): string {
  const text = status === 401
    ? 'Not signed in: the dashboard needs credentials this request did not carry. Sign in, then reload.'
    : 'Not authorized: this account may not view the dashboard.';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${status}</title></head><body><main><h1>${status === 401 ? 'Not signed in' : 'Not authorized'}</h1><p>${text}</p></main></body></html>`;
}
