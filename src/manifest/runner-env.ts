/** Environment variables the in-image runner reads. */
export const RUNNER_ENV = {
  flowName: "FLOWPACK_FLOW_NAME",
  flowLocation: "FLOWPACK_FLOW_LOCATION",
  manifest: "FLOWPACK_MANIFEST",
  params: "FLOWPACK_PARAMS",
} as const;
