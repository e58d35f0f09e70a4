// The operator page: reads reprise through its JSON admin routes, polls the warm job while it runs, and starts warm
// and invalidate actions. A wrong or missing token stops the polling and says so.
import { AdminError, adminToken, api } from './api.js';
import { $, bytes, fillList, flatten, percent, ratio, row, say, text } from './view.js';

const STATS_EVERY_MS = 5_000;
const WARM_RUNNING_EVERY_MS = 1_000;

const timers = { stats: 0, warm: 0 };
/** The latest refresh of each loop: an older one still awaiting its answer schedules nothing, so loops never double. */
const rounds = { stats: 0, warm: 0 };
let warmWasRunning = false;
let categories = [];

function stopPolling() {
  clearTimeout(timers.stats);
  clearTimeout(timers.warm);
  rounds.stats += 1;
  rounds.warm += 1;
}

function start() {
  stopPolling();
  $('#token-state').textContent = adminToken.get() ? 'A token is set for this tab.' : 'No token set for this tab.';
  void refreshStats();
  void refreshWarm();
}

/** 401 and 403 on a read: the token is missing or wrong; nothing more can be read with it. */
function refusedRead(error) {
  if (!(error instanceof AdminError) || (error.status !== 401 && error.status !== 403)) return false;
  stopPolling();
  say($('#auth-message'), error.status === 401 ? 'Enter the admin token to see and steer reprise.' : `The admin token was refused: ${error.message}.`, true);
  $('#summary').textContent = 'Waiting for the admin token';
  return true;
}

function failure(error) {
  return error instanceof AdminError ? `${error.message} (HTTP ${error.status})` : `reprise did not answer: ${error.message}`;
}

// ---- reading ----

async function refreshStats() {
  clearTimeout(timers.stats);
  const round = ++rounds.stats;
  try {
    renderStats(await api.stats());
    say($('#auth-message'), '');
  } catch (error) {
    if (refusedRead(error)) return;
    $('#summary').textContent = failure(error);
  }
  if (round === rounds.stats) timers.stats = setTimeout(refreshStats, STATS_EVERY_MS);
}

async function refreshWarm() {
  clearTimeout(timers.warm);
  const round = ++rounds.warm;
  let running = false;
  try {
    running = renderWarm(await api.warmProgress());
  } catch (error) {
    if (refusedRead(error)) return;
    say($('#warm-message'), failure(error), true);
  }
  // The figures change when a job ends: read them again at once rather than at the next tick.
  if (warmWasRunning && !running) void refreshStats();
  warmWasRunning = running;
  if (round === rounds.warm) timers.warm = setTimeout(refreshWarm, running ? WARM_RUNNING_EVERY_MS : STATS_EVERY_MS);
}

function renderStats(stats) {
  const features = stats.features ?? {};
  const redisDown = features.redis === true && stats.cacheType !== 'redis';
  const serving = stats.cacheType === 'redis' ? 'Redis' : redisDown ? 'memory (Redis unavailable)' : 'memory only';
  $('#summary').textContent = `${serving} · hit ratio ${percent(stats.hitRate)} · ${text(stats.hits)} hits, ${text(stats.misses)} misses`;
  fillList($('#backend'), [
    ['Serving from', serving],
    ['Redis configured', features.redis],
    ['Redis mode', features.redisMode],
    ['Redis target', features.redisTarget],
    ['Warming available', features.warming],
    ['Warm schedule', features.warmSchedule === false ? 'off' : features.warmSchedule],
    ...tierFigures(stats.tiers),
  ]);

  const rows = Object.entries(stats.categories ?? {}).map(([category, figures]) =>
    row([
      category,
      percent(ratio(figures.hits, figures.misses)),
      percent(ratio(figures.memory.hits, figures.memory.misses)),
      percent(ratio(figures.redis.hits, figures.redis.misses)),
      text(figures.hits + figures.misses),
    ]),
  );
  $('#hits tbody').replaceChildren(...rows);

  const moods = stats.popularMoods ?? { total: 0, cached: 0, coverage: 0 };
  $('#coverage').textContent = `${moods.cached} of ${moods.total} popular moods precomputed (${percent(moods.coverage)})`;
  const registry = flatten(stats.idRegistry);
  const headline = new Set(['backend', 'validated', 'missing', 'lookups.total', 'hits.rate', 'apiCallsAvoided']);
  // Marks in Bloom filters are counted by estimate: the total says so.
  const estimated = (stats.idRegistry?.missingMarks?.inFilters ?? 0) > 0;
  const shown = (name, value) => (name === 'hits.rate' ? percent(value) : name === 'missing' && estimated ? `≈${text(value)}` : value);
  fillList($('#registry'), registry.filter(([name]) => headline.has(name)).map(([name, value]) => [name, shown(name, value)]));
  fillList($('#registry-all'), registry);
  showCategories(Object.keys(stats.categories ?? {}));
}

/** What each tier holds and how Redis has done, when the server gives its tiers. */
function tierFigures(tiers) {
  if (!tiers) return [];
  const { memory, redis } = tiers;
  const figures = [['Memory tier', `${text(memory.entries)} entries, ${bytes(memory.bytes)} of ${bytes(memory.maxBytes)}`]];
  if (redis.mode === 'none') return figures;
  figures.push(['Redis errors', `${text(redis.errors)} (${text(redis.timeouts)} given up, ${text(redis.refusedWrites)} writes refused)`]);
  const nodes = redis.memory?.nodes ?? [];
  if (nodes.length > 0) {
    const used = nodes.reduce((sum, node) => sum + node.usedBytes, 0);
    const limited = nodes.every((node) => node.maxBytes > 0);
    const max = nodes.reduce((sum, node) => sum + node.maxBytes, 0);
    figures.push(['Redis memory', `${bytes(used)} used${limited ? ` of ${bytes(max)}` : ', no limit'} (${text(nodes.length)} node${nodes.length === 1 ? '' : 's'})`]);
  }
  return figures;
}

function showCategories(names) {
  if (names.join() === categories.join()) return;
  categories = names;
  const select = $('#invalidate-category');
  const chosen = select.value;
  const options = names.map((name) => {
    const option = document.createElement('option');
    option.value = name;
    option.textContent = name;
    return option;
  });
  select.replaceChildren(select.options[0], ...options);
  select.value = names.includes(chosen) ? chosen : '';
}

/** Shows the job; true while it runs. */
function renderWarm(progress) {
  const { total, done, failed, status } = progress;
  const finished = status !== 'running' && status !== 'idle';
  const fraction = total > 0 ? Math.min(done / total, 1) : finished ? 1 : 0;
  const bar = $('#warm-bar');
  bar.max = 1;
  bar.value = fraction;
  bar.setAttribute('aria-valuetext', `${done} of ${total} moods`);
  $('#warm-percent').textContent = `${Math.floor(fraction * 100)}%`;
  fillList($('#warm-job'), [
    ['Job', progress.jobId],
    ['Status', status],
    ['Trigger', progress.trigger],
    ['Moods done', `${done} of ${total}`],
    ['Failed', failed],
    ['Started', progress.startedAt && new Date(progress.startedAt).toLocaleString()],
    ['Finished', progress.finishedAt && new Date(progress.finishedAt).toLocaleString()],
  ]);
  const failures = Array.isArray(progress.failures) ? progress.failures : [];
  const named = failures.map((entry) => `${entry.mood} (${entry.outcome}${entry.error ? `: ${entry.error}` : ''})`).join('; ');
  say($('#warm-failures'), failed > 0 ? `${failed} of ${total} moods failed, timed out or were cancelled${named ? `: ${named}` : ''}.` : '', failed > 0);
  $('#warm-start').disabled = status === 'running';
  return status === 'running';
}

// ---- actions ----

$('#token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = $('#token');
  const token = input.value.trim();
  input.value = '';
  if (token) adminToken.set(token);
  else adminToken.clear();
  say($('#auth-message'), '');
  start();
});

$('#forget-token').addEventListener('click', () => {
  adminToken.clear();
  start();
});

$('#warm-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const message = $('#warm-message');
  const moods = $('#warm-moods').value.split(',').map((mood) => mood.trim()).filter(Boolean);
  const request = { ...(moods.length > 0 ? { moods } : {}), ...($('#warm-force').checked ? { force: true } : {}) };
  try {
    const job = await api.startWarm(request);
    say(message, `Warm job ${job.jobId} started for ${job.moods.length} moods.`);
  } catch (error) {
    if (error instanceof AdminError && error.status === 409) {
      say(message, `A warm job is already running (${error.body?.runningJobId ?? 'on another worker'}).`);
    } else {
      say(message, `The warm job was not started: ${failure(error)}`, true);
    }
  }
  void refreshWarm();
});

const dialog = $('#confirm');

$('#invalidate-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const category = $('#invalidate-category').value;
  $('#confirm-text').textContent = category
    ? `Every cached entry of the category “${category}” will be removed from memory and from Redis. Each is computed again on its next request.`
    : `Every cached entry of every category (${categories.join(', ')}) will be removed from memory and from Redis. Each is computed again on its next request.`;
  $('#confirm-ok').textContent = category ? `Remove ${category}` : 'Remove everything';
  dialog.returnValue = '';
  dialog.showModal();
});

$('#confirm-cancel').addEventListener('click', () => dialog.close('cancel'));
$('#confirm-ok').addEventListener('click', () => dialog.close('confirm'));

dialog.addEventListener('close', async () => {
  const message = $('#invalidate-message');
  $('#invalidate-start').focus();
  if (dialog.returnValue !== 'confirm') {
    say(message, 'Nothing was removed.');
    return;
  }
  const category = $('#invalidate-category').value;
  try {
    const answer = await api.invalidate(category);
    say(message, `Removed ${answer.invalidated} entries (${answer.category === 'all' ? 'every category' : answer.category}).`);
  } catch (error) {
    say(message, `Nothing was removed: ${failure(error)}`, true);
  }
  void refreshStats();
});

start();
