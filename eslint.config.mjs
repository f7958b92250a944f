import shared from './tooling/config/eslint.shared.mjs';

export default shared;
