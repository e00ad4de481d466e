// The AWS SDK for JavaScript v3's default credential chain, configured by the environment
// alone (AWS_CONTAINER_CREDENTIALS_FULL_URI, AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE): prints
// the access key it was given and the expiry, never the secrets. Run by tests/it/agent.rs.
import { defaultProvider } from "@aws-sdk/credential-provider-node";

const credentials = await defaultProvider()();
console.log(JSON.stringify({
  accessKeyId: credentials.accessKeyId,
  expiration: credentials.expiration.toISOString(),
  hasSessionToken: typeof credentials.sessionToken === "string" && credentials.sessionToken.length > 0,
}));
