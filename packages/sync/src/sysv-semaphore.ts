// Filled in by the sync work.
export {};
