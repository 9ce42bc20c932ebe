'use strict';
// Deploys the forwarder stack (infra/template.yaml) with the AWS CDK, from its application in the
// AWS Serverless Application Repository: an AWS::Serverless::Application whose Location is the
// application's id and version. Plain CommonJS, no compile step: `node app.js` synthesizes into
// CDK_OUTDIR (or cdk.out), offline. README.md has the commands.
//
// Settings come from CDK context (`-c key=value` with the CDK CLI, or the CDK_CONTEXT_JSON
// environment variable the CLI sets) or, failing that, from the environment:
//   applicationId       SAR_APPLICATION_ID     arn:aws:serverlessrepo:REGION:ACCOUNT:applications/api-authorizer-alerts
//   semanticVersion     SAR_SEMANTIC_VERSION   0.1.0
//   accessLogGroupName  ACCESS_LOG_GROUP_NAME  the API stage's access-log group
//   alertEmail          ALERT_EMAIL            optional
//   alertLabel          ALERT_LABEL            optional
//   parameters          FORWARDER_PARAMETERS   optional JSON object of any other template parameter
//   packagedTemplate    PACKAGED_TEMPLATE      optional: also include a `sam package`d template
//   stackName           STACK_NAME             default authorizer-alerts

const fs = require('node:fs');
const cdk = require('aws-cdk-lib');
const sam = require('aws-cdk-lib/aws-sam');
const cfninc = require('aws-cdk-lib/cloudformation-include');

const app = new cdk.App();

function setting(contextKey, envKey) {
  const fromContext = app.node.tryGetContext(contextKey);
  if (fromContext !== undefined && fromContext !== null && fromContext !== '') {
    return typeof fromContext === 'string' ? fromContext : JSON.stringify(fromContext);
  }
  const fromEnv = process.env[envKey];
  return fromEnv === undefined || fromEnv === '' ? undefined : fromEnv;
}

function fail(message) {
  console.error(`infra/cdk/app.js: ${message}`);
  process.exit(1);
}

function required(contextKey, envKey, what) {
  const value = setting(contextKey, envKey);
  if (value === undefined) {
    fail(`${what} is missing: pass -c ${contextKey}=... (or set ${envKey}=... when running node app.js)`);
  }
  return value;
}

const applicationId = required('applicationId', 'SAR_APPLICATION_ID',
  'the Serverless Application Repository application id (arn:aws:serverlessrepo:REGION:ACCOUNT:applications/NAME)');
if (!/^arn:aws[a-z-]*:serverlessrepo:[a-z0-9-]+:[0-9]{12}:applications\/[A-Za-z0-9-]+$/.test(applicationId)) {
  fail(`applicationId ${applicationId} is not an application ARN (arn:aws:serverlessrepo:REGION:ACCOUNT:applications/NAME)`);
}
const semanticVersion = required('semanticVersion', 'SAR_SEMANTIC_VERSION', 'the application version (such as 0.1.0)');

// The forwarder stack's parameters: the three most stacks set, then any other by name. Empty ones
// are left out so the template's defaults apply.
const parameters = {
  AccessLogGroupName: required('accessLogGroupName', 'ACCESS_LOG_GROUP_NAME', "the API stage's access-log group name"),
};
const alertEmail = setting('alertEmail', 'ALERT_EMAIL');
if (alertEmail !== undefined) parameters.AlertEmail = alertEmail;
const alertLabel = setting('alertLabel', 'ALERT_LABEL');
if (alertLabel !== undefined) parameters.AlertLabel = alertLabel;
const extra = setting('parameters', 'FORWARDER_PARAMETERS');
if (extra !== undefined) {
  let parsed;
  try {
    parsed = JSON.parse(extra);
  } catch (e) {
    fail(`parameters is not JSON: ${e.message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    fail('parameters must be a JSON object of template parameter names and values');
  }
  for (const [name, value] of Object.entries(parsed)) parameters[name] = String(value);
}

const stackName = setting('stackName', 'STACK_NAME') || 'authorizer-alerts';
// No bootstrap version rule: the template has no assets, so it deploys with plain
// `aws cloudformation deploy` as well as with the CDK CLI.
const synthesizer = () => new cdk.DefaultStackSynthesizer({ generateBootstrapVersionRule: false });

class ForwarderFromSar extends cdk.Stack {
  constructor(scope, id, props) {
    super(scope, id, props);
    const forwarder = new sam.CfnApplication(this, 'Forwarder', {
      location: { applicationId, semanticVersion },
      parameters,
    });
    for (const name of ['TopicArn', 'FunctionName', 'DeadLetterQueueUrl', 'DashboardUrl']) {
      new cdk.CfnOutput(this, name, { value: forwarder.getAtt(`Outputs.${name}`).toString() });
    }
  }
}

new ForwarderFromSar(app, 'AuthorizerAlerts', {
  stackName,
  synthesizer: synthesizer(),
  description: 'API Gateway authorizer alerts, from the Serverless Application Repository',
});

// The second option: the template `sam package` wrote (code in S3), included as it is, with the
// same parameter values. CfnInclude reads the file when this runs, so it must exist.
const packagedTemplate = setting('packagedTemplate', 'PACKAGED_TEMPLATE');
if (packagedTemplate !== undefined) {
  if (!fs.existsSync(packagedTemplate)) {
    fail(`packagedTemplate ${packagedTemplate} does not exist: run sam build and sam package first (infra/README.md)`);
  }
  const included = new cdk.Stack(app, 'AuthorizerAlertsPackaged', {
    stackName: `${stackName}-packaged`,
    synthesizer: synthesizer(),
  });
  try {
    new cfninc.CfnInclude(included, 'Forwarder', { templateFile: packagedTemplate, parameters });
  } catch (e) {
    fail(`including ${packagedTemplate}: ${e.message}`);
  }
}

app.synth();
