// Compare Estimators: the claim verdicts and run statistics, on RunModels built from synthetic metric rows.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CompareError, evaluateClaims, MIN_STEPS, parseEstimators, planJobs, runStats, TELL_STEPS, verdictText, type Claim } from '../../src/core/compare';
import { RunModel } from '../../src/core/run/runModel';

/** A run of `steps` steps whose metrics go linearly from `from` to `to` (per key). */
function run(steps: number, from: Record<string, number>, to: Record<string, number>): RunModel {
  const m = new RunModel();
  for (let i = 0; i < steps; i++) {
    const f = steps > 1 ? i / (steps - 1) : 0;
    const values = Object.fromEntries(Object.keys(from).map((k) => [k, from[k] + (to[k] - from[k]) * f]));
    m.metrics.push(i + 1, (i + 1) * 64, 1000 + i, values);
  }
  return m;
}

const verdict = (claims: Claim[], id: Claim['id']): string => claims.find((c) => c.id === id)!.verdict;
type Metrics = Record<string, number>;
/** `seeds` runs of one estimator, each of `steps` steps; seed i ends at `to` scaled by (1 + i * jitter) (a seed-to-seed spread). */
const seeded = (estimator: string, steps: number, from: Metrics, to: Metrics, seeds = 2, jitter = 0.01) =>
  Array.from({ length: seeds }, (_, i) => ({ estimator, model: run(steps, from, Object.fromEntries(Object.entries(to).map(([k, v]) => [k, v * (1 + i * jitter)]))) }));
const STEPS = TELL_STEPS;

test('length claim: held when GRPO grows and REINFORCE++ stays, not when both grow alike', () => {
  const stable = { response_length_mean: 5.1, reward_mean: 0.5, kl: 0.01 }, grows = { response_length_mean: 9, reward_mean: 0.5, kl: 0.01 };
  const from = { response_length_mean: 5, reward_mean: 0.2, kl: 0.01 };
  const held = evaluateClaims([...seeded('reinforce_pp', STEPS, from, stable), ...seeded('grpo', STEPS, from, grows)]);
  assert.equal(verdict(held, 'length'), 'held');
  assert.match(held.find((c) => c.id === 'length')!.shows, /grpo 5\.\d+ -> 8\.\d+/);
  const both = evaluateClaims([...seeded('reinforce_pp', STEPS, from, grows), ...seeded('grpo', STEPS, from, grows)]);
  assert.equal(verdict(both, 'length'), 'did not hold');
  const neither = evaluateClaims([...seeded('reinforce_pp', STEPS, from, stable), ...seeded('grpo', STEPS, from, stable)]);
  assert.equal(verdict(neither, 'length'), 'did not hold');
  assert.match(neither.find((c) => c.id === 'length')!.shows, /under the \+10%/);
});

test('cannot tell from 12 steps and 1 seed, however the numbers fall: never "did not hold"', () => {
  const from = { response_length_mean: 5, reward_mean: 0.2, kl: 0.05 };
  // REINFORCE++ grew as much as GRPO and gained less per KL: with 60 steps and 2 seeds that did not hold
  const c = evaluateClaims([{ estimator: 'reinforce_pp', model: run(12, from, { response_length_mean: 9, reward_mean: 0.3, kl: 0.05 }) },
    { estimator: 'grpo', model: run(12, from, { response_length_mean: 9, reward_mean: 0.8, kl: 0.01 }) }]);
  for (const claim of c) {
    assert.equal(claim.verdict, 'cannot tell', claim.id);
    assert.equal(verdictText(claim), `cannot tell (12 steps, 1 seed: need at least ${TELL_STEPS} steps per run and 2 seeds per estimator)`, claim.id);
  }
  // enough steps, still one seed: no spread to set the difference against
  const oneSeed = evaluateClaims([...seeded('reinforce_pp', 60, from, { response_length_mean: 9, reward_mean: 0.3, kl: 0.05 }, 1),
    ...seeded('grpo', 60, from, { response_length_mean: 9, reward_mean: 0.8, kl: 0.01 }, 1)]);
  for (const claim of oneSeed) assert.match(verdictText(claim), /^cannot tell \(60 steps, 1 seed: need/, claim.id);
  // two seeds but 12 steps: the start and end windows are one step each
  const short = evaluateClaims([...seeded('reinforce_pp', 12, from, { response_length_mean: 9, reward_mean: 0.3, kl: 0.05 }),
    ...seeded('grpo', 12, from, { response_length_mean: 9, reward_mean: 0.8, kl: 0.01 })]);
  for (const claim of short) assert.match(verdictText(claim), /^cannot tell \(12 steps, 2 seeds: need/, claim.id);
});

test('a difference within the seed-to-seed spread is "cannot tell"; beyond it, a verdict', () => {
  const from = { response_length_mean: 5, reward_mean: 0.2, kl: 0.01 };
  // GRPO's seeds end at lengths 9 and 5 (+80% and 0%): its mean growth +40% is no clearer than its spread
  const noisyGrpo = [run(STEPS, from, { response_length_mean: 9, reward_mean: 0.5, kl: 0.01 }), run(STEPS, from, { response_length_mean: 5, reward_mean: 0.5, kl: 0.01 })]
    .map((model) => ({ estimator: 'grpo', model }));
  const c = evaluateClaims([...seeded('reinforce_pp', STEPS, from, { response_length_mean: 5.1, reward_mean: 0.5, kl: 0.01 }), ...noisyGrpo]);
  assert.equal(verdict(c, 'length'), 'cannot tell');
  assert.match(verdictText(c.find((x) => x.id === 'length')!), /cannot tell \(within 2 standard errors/);
});

test('too few steps, or a missing estimator, is not enough data (never a verdict)', () => {
  const short = run(MIN_STEPS - 1, { response_length_mean: 5, reward_mean: 0, kl: 0.1 }, { response_length_mean: 20, reward_mean: 1, kl: 0.1 });
  const long = run(40, { response_length_mean: 5, reward_mean: 0, kl: 0.1 }, { response_length_mean: 5, reward_mean: 1, kl: 0.1 });
  const c = evaluateClaims([{ estimator: 'reinforce_pp', model: long }, { estimator: 'grpo', model: short }]);
  for (const claim of c) assert.equal(claim.verdict, 'not enough data', claim.id);
  const onlyRloo = evaluateClaims([{ estimator: 'rloo', model: long }, { estimator: 'grpo', model: long }]);
  for (const claim of onlyRloo) assert.equal(claim.verdict, 'not enough data', claim.id);
});

test('reward per unit KL: the paper method against the best other estimator', () => {
  const from = (kl: number) => ({ reward_mean: 0.2, kl, response_length_mean: 5 });
  const to = (kl: number) => ({ reward_mean: 0.8, kl, response_length_mean: 5 });
  const efficient = (e: string) => seeded(e, STEPS, from(0.01), to(0.01)), costly = (e: string) => seeded(e, STEPS, from(0.05), to(0.05));
  const held = evaluateClaims([...efficient('reinforce_pp'), ...costly('grpo'), ...costly('rloo')]);
  assert.equal(verdict(held, 'reward_per_kl'), 'held');
  const lost = evaluateClaims([...costly('reinforce_pp'), ...costly('grpo'), ...efficient('rloo')]);
  assert.equal(verdict(lost, 'reward_per_kl'), 'did not hold');
  assert.match(lost.find((c) => c.id === 'reward_per_kl')!.shows, /best other \(rloo\)/);
  const noKl = (e: string) => seeded(e, STEPS, from(0), to(0));
  assert.equal(verdict(evaluateClaims([...noKl('reinforce_pp'), ...noKl('grpo')]), 'reward_per_kl'), 'not enough data');
});

test('stability: the spread of the final reward across seeds; one seed cannot tell', () => {
  const at = (end: number) => run(STEPS, { reward_mean: 0.2, kl: 0.01, response_length_mean: 5 }, { reward_mean: end, kl: 0.01, response_length_mean: 5 });
  const steady = [at(0.6), at(0.62)].map((model) => ({ estimator: 'reinforce_pp', model }));
  const shaky = [at(0.3), at(0.9)].map((model) => ({ estimator: 'grpo', model }));
  assert.equal(verdict(evaluateClaims([...steady, ...shaky]), 'stability'), 'held');
  assert.equal(verdict(evaluateClaims([...shaky.map((r) => ({ ...r, estimator: 'reinforce_pp' })), ...steady.map((r) => ({ ...r, estimator: 'grpo' }))]), 'stability'), 'did not hold');
  assert.match(verdictText(evaluateClaims([steady[0], shaky[0]]).find((c) => c.id === 'stability')!), /^cannot tell \(50 steps, 1 seed: need/);
  const alike = [at(0.5), at(0.7)].map((model) => ({ estimator: 'grpo', model }));
  assert.equal(verdict(evaluateClaims([...[at(0.55), at(0.7)].map((model) => ({ estimator: 'reinforce_pp', model })), ...alike]), 'stability'), 'cannot tell');
});

test('runStats: cumulative KL is the dashboard axis (negative steps add 0); start and end are window means', () => {
  const m = new RunModel();
  const kls = [0.1, -0.05, 0.2, 0.3, -0.1, 0.0, 0.1, 0.1, 0.1, 0.1];
  kls.forEach((kl, i) => m.metrics.push(i + 1, i + 1, i, { kl, reward_mean: i === 0 ? 0.1 : i === 9 ? 0.6 : 0.3, response_length_mean: 4 + i }));
  const s = runStats(m);
  assert.ok(Math.abs(s.cumulativeKl - 1.0) < 1e-9, `cumulative KL ${s.cumulativeKl}`);
  assert.equal(s.rewardStart, 0.1); // 10% of 10 steps: the first step
  assert.equal(s.rewardEnd, 0.6);
  assert.equal(s.lengthStart, 4);
  assert.equal(s.lengthEnd, 13);
  assert.ok(Math.abs(s.rewardPerKl! - 0.5) < 1e-9);
});

test('parseEstimators names the bad entry; planJobs runs every estimator of a seed before the next seed', () => {
  assert.deepEqual(parseEstimators('reinforce_pp, grpo'), ['reinforce_pp', 'grpo']);
  assert.throws(() => parseEstimators('reinforce_pp,gpro'), (e: Error) => e instanceof CompareError && /unknown estimator 'gpro'/.test(e.message));
  assert.throws(() => parseEstimators('grpo,grpo'), /named twice/);
  assert.throws(() => parseEstimators(','), /no estimator/);
  assert.deepEqual(planJobs(['a', 'b'], [1, 2]).map((j) => `${j.estimator}${j.seed}`), ['a1', 'b1', 'a2', 'b2']);
});

test('reward per unit KL: a loss is never a win, however large the other estimator\'s KL', () => {
  // REINFORCE++ lost a little over a large KL (-0.001 per unit KL), GRPO more over a small one (-0.25): "higher" is not a gain
  const lostOverLargeKl = seeded('reinforce_pp', STEPS, { reward_mean: 0.2, kl: 1, response_length_mean: 5 }, { reward_mean: 0.18, kl: 1, response_length_mean: 5 });
  const lostOverSmallKl = seeded('grpo', STEPS, { reward_mean: 0.2, kl: 0.02, response_length_mean: 5 }, { reward_mean: 0.1, kl: 0.02, response_length_mean: 5 });
  const c = evaluateClaims([...lostOverLargeKl, ...lostOverSmallKl]).find((x) => x.id === 'reward_per_kl')!;
  assert.equal(c.verdict, 'did not hold');
  assert.match(c.shows, /reinforce_pp gained no reward/);
});
