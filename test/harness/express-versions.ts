/** The Express majors reprise supports as a peer: every route test runs on both. */
import express5 from 'express';
import express4 from 'express4';

export const EXPRESS_VERSIONS = [
  { name: 'Express 5', express: express5 },
  { name: 'Express 4', express: express4 },
] as const;
