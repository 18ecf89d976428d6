import { jest } from '@jest/globals';

// Real engines: builds, loads and action runs take seconds, not milliseconds.
jest.setTimeout(120_000);
