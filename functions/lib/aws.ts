// Each AWS client is created next to the code that uses it (raw-store, db, the sink's dead letters,
// kafka): a function's bundle then holds only the SDK clients it calls.

/** What the AWS clients need from a function's settings. */
export interface AwsSettings {
  readonly AWS_REGION: string;
  readonly AWS_ENDPOINT_URL?: string | undefined;
}

/** Region, and the emulator's endpoint offline: what every AWS client of the functions is made with. */
export const clientConfig = (settings: AwsSettings) => ({
  region: settings.AWS_REGION,
  ...(settings.AWS_ENDPOINT_URL === undefined ? {} : { endpoint: settings.AWS_ENDPOINT_URL }),
});
