/**
 * The pipeline's resources in the local stage, named as serverless.yml names them for `--stage local`
 * (`${self:service}-${sls:stage}-…`). The bootstrap creates them; the functions get the names through
 * their environment.
 */
export const localResources = {
  stage: 'local',
  rawBucket: 'user-pipeline-local-raw',
  dbSecretId: 'user-pipeline/local/postgres',
} as const;
