-- The W3C trace context a submit carried (its traceparent and tracestate headers), kept with the job and
-- sent on each of its webhook calls (src/core/trace-context.ts); the callbacks outbox keeps the job's with
-- each pending callback, sent with every try. Nullable, in no index: the job's insert and the callback's
-- row write them at no extra row. Existing rows: null, so their calls go out as before.
ALTER TABLE `callbacks` ADD `traceparent` text;--> statement-breakpoint
ALTER TABLE `callbacks` ADD `tracestate` text;--> statement-breakpoint
ALTER TABLE `jobs` ADD `traceparent` text;--> statement-breakpoint
ALTER TABLE `jobs` ADD `tracestate` text;