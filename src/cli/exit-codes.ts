/** Exit codes: 0 ran (bad lines are data, not a failure), 1 partly failed, 2 could not run. */
export const EXIT_OK = 0;
export const EXIT_PARTIAL = 1;
export const EXIT_CANNOT_RUN = 2;
