// A reward rule module. Use it from a run config:
//   reward:
//     rules:
//       - {kind: module, path: rewards/example.reward.ts}
// Hover any helper for its documentation; errors show as you type.
import type { Rule } from './rlhf-rewards';

const reward: Rule = (sample, h) => {
  const answer = h.extractAnswer(sample.response, 'last_number');
  const correct = h.answersMatch(answer, sample.label) ? 1 : 0;
  const tooLong = Math.max(0, h.tokenCount(sample.response) - 64) * 0.01;
  return { reward: correct - tooLong, breakdown: { correct, too_long: -tooLong } };
};

export default reward;
