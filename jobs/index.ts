/**
 * The revenue pipeline's public surface: the worker runtime (`kamiyo-stake worker`), the queue, and the
 * API plugin (bull-board at /admin/queues, the analytics dashboard) for api/app.ts.
 */
export { createJobsPlugin, DASHBOARD_PATH, QUEUES_PATH, type JobsPluginDeps } from "./plugin.ts";
export { createJobsRuntime, createJobsRuntimeFromConfig, loadKeypair, type JobsRuntime, type JobsRuntimeDeps } from "./runtime.ts";
export { createPipelineQueue, createRedis, enqueueRun, PIPELINE_QUEUE } from "./queue.ts";
export { createRunStore, type RunRow, type RunStore } from "./runs.ts";
