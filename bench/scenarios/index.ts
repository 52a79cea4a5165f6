// Every scenario, in the order they run. Add new ones here.
import { concurrentPush } from './concurrent-push.js';
import { eventLoop } from './event-loop.js';
import { manifestGetAuth, manifestGetOpen } from './manifest-get.js';
import { pull } from './pull.js';
import { push } from './push.js';
import { smallBlobs } from './small-blobs.js';
import type { Scenario } from './types.js';

export const scenarios: readonly Scenario[] = [push, pull, smallBlobs, manifestGetOpen, concurrentPush, manifestGetAuth, eventLoop];
