// Workers project: the seed arrives as a binding (vitest.config.ts), since workerd has no process.env.
import { env } from "cloudflare:workers";
import { parseSeed, useSeed } from "../support/fast-check-seed";

useSeed(parseSeed((env as unknown as { FC_SEED?: string }).FC_SEED));
