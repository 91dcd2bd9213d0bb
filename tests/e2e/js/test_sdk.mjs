// End-to-end test of Sesame with the unmodified AWS SDK for JavaScript v3: @aws-sdk/client-sesv2
// (REST-JSON) and @aws-sdk/client-ses (v1, AWS Query).
//
//   node tests/e2e/js/test_sdk.mjs <endpoint> <accessKeyId> <secret> [accountId]
//
// accountId (or SESAME_ACCOUNT_ID) is needed for the tag tests, which address resources by ARN.
// Uses node:test; the process exits non-zero when any test fails.
import assert from "node:assert/strict";
import { test } from "node:test";

import * as v2 from "@aws-sdk/client-sesv2";
import * as v1 from "@aws-sdk/client-ses";

const [endpoint, accessKeyId, secretAccessKey, accountArg] = process.argv.slice(2);
if (!endpoint || !accessKeyId || !secretAccessKey) {
  console.error("usage: node test_sdk.mjs <endpoint> <accessKeyId> <secret> [accountId]");
  process.exit(2);
}
const accountId = accountArg || process.env.SESAME_ACCOUNT_ID || "";
const region = "us-east-1";

function config(secret = secretAccessKey) {
  return { endpoint, region, credentials: { accessKeyId, secretAccessKey: secret }, maxAttempts: 1 };
}
const sesv2 = new v2.SESv2Client(config());
const ses = new v1.SESClient(config());

const suffix = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
const domain = `js-${suffix}.example.com`;
const plusAddress = `user+tag-${suffix}@${domain}`;
const configSet = `js-cs-${suffix}`;
const template = `js-tpl-${suffix}`;

/** Awaits a promise that must reject; returns the error. */
async function rejects(promise) {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  assert.fail("expected the call to fail");
}

function assertDate(value, what) {
  assert.ok(value instanceof Date, `${what} should be a Date, got ${typeof value}: ${value}`);
  assert.ok(!Number.isNaN(value.getTime()), `${what} should be a valid Date`);
  // Sanity: within a day of now (the server stamps it at creation).
  assert.ok(Math.abs(value.getTime() - Date.now()) < 86400e3, `${what} = ${value.toISOString()} is not recent`);
}

test("SESv2 email identities", async (t) => {
  await t.test("CreateEmailIdentity (domain) returns 3 DKIM tokens", async () => {
    const out = await sesv2.send(new v2.CreateEmailIdentityCommand({ EmailIdentity: domain }));
    assert.equal(out.$metadata.httpStatusCode, 200);
    assert.equal(out.IdentityType, "DOMAIN");
    assert.ok(out.DkimAttributes, "DkimAttributes present");
    assert.equal(out.DkimAttributes.Tokens.length, 3, JSON.stringify(out.DkimAttributes));
    for (const tok of out.DkimAttributes.Tokens) assert.match(tok, /^[a-z0-9]+$/);
    assert.equal(typeof out.VerifiedForSendingStatus, "boolean");
  });

  await t.test("CreateEmailIdentity + GetEmailIdentity with '+' in the local part", async () => {
    const created = await sesv2.send(new v2.CreateEmailIdentityCommand({ EmailIdentity: plusAddress }));
    assert.equal(created.IdentityType, "EMAIL_ADDRESS");
    const got = await sesv2.send(new v2.GetEmailIdentityCommand({ EmailIdentity: plusAddress }));
    assert.equal(got.IdentityType, "EMAIL_ADDRESS");
    assert.equal(typeof got.VerifiedForSendingStatus, "boolean");
  });

  await t.test("GetEmailIdentity (domain)", async () => {
    const got = await sesv2.send(new v2.GetEmailIdentityCommand({ EmailIdentity: domain }));
    assert.equal(got.IdentityType, "DOMAIN");
    assert.equal(got.DkimAttributes.Tokens.length, 3);
    assert.ok(got.MailFromAttributes === undefined || typeof got.MailFromAttributes === "object");
  });

  await t.test("ListEmailIdentities lists both", async () => {
    const out = await sesv2.send(new v2.ListEmailIdentitiesCommand({ PageSize: 1000 }));
    const names = out.EmailIdentities.map((e) => e.IdentityName);
    assert.ok(names.includes(domain), `${domain} in ${names}`);
    assert.ok(names.includes(plusAddress), `${plusAddress} in ${names}`);
    const d = out.EmailIdentities.find((e) => e.IdentityName === domain);
    assert.equal(d.IdentityType, "DOMAIN");
  });

  await t.test("AlreadyExistsException on a second create", async () => {
    const err = await rejects(sesv2.send(new v2.CreateEmailIdentityCommand({ EmailIdentity: domain })));
    assert.equal(err.name, "AlreadyExistsException", String(err));
    assert.ok(err instanceof v2.AlreadyExistsException, "modeled exception class");
    assert.equal(err.$metadata.httpStatusCode, 400);
  });

  await t.test("NotFoundException for an unknown identity", async () => {
    const err = await rejects(sesv2.send(new v2.GetEmailIdentityCommand({ EmailIdentity: `nobody-${suffix}.example.org` })));
    assert.equal(err.name, "NotFoundException", String(err));
    assert.ok(err instanceof v2.NotFoundException, "modeled exception class");
    assert.equal(err.$metadata.httpStatusCode, 404);
    assert.ok(err.message && err.message.length > 0, "error message set");
  });
});

test("SESv2 configuration sets", async (t) => {
  await t.test("CreateConfigurationSet / GetConfigurationSet", async () => {
    await sesv2.send(new v2.CreateConfigurationSetCommand({
      ConfigurationSetName: configSet,
      SendingOptions: { SendingEnabled: true },
      Tags: [{ Key: "team", Value: "mail" }],
    }));
    const got = await sesv2.send(new v2.GetConfigurationSetCommand({ ConfigurationSetName: configSet }));
    assert.equal(got.ConfigurationSetName, configSet);
    assert.equal(got.SendingOptions?.SendingEnabled, true);
  });

  await t.test("ListConfigurationSets", async () => {
    const list = await sesv2.send(new v2.ListConfigurationSetsCommand({}));
    assert.ok(list.ConfigurationSets.includes(configSet), `${configSet} in ${list.ConfigurationSets}`);
  });

  await t.test("AlreadyExistsException on a second create", async () => {
    const err = await rejects(sesv2.send(new v2.CreateConfigurationSetCommand({ ConfigurationSetName: configSet })));
    assert.equal(err.name, "AlreadyExistsException", String(err));
  });

  await t.test("CreateConfigurationSetEventDestination / GetConfigurationSetEventDestinations", async () => {
    const topic = `arn:aws:sns:${region}:${accountId}:sesame-js-events`;
    await sesv2.send(new v2.CreateConfigurationSetEventDestinationCommand({
      ConfigurationSetName: configSet,
      EventDestinationName: "to-sns",
      EventDestination: { Enabled: true, MatchingEventTypes: ["BOUNCE", "COMPLAINT", "DELIVERY"], SnsDestination: { TopicArn: topic } },
    }));
    const out = await sesv2.send(new v2.GetConfigurationSetEventDestinationsCommand({ ConfigurationSetName: configSet }));
    assert.equal(out.EventDestinations.length, 1, JSON.stringify(out.EventDestinations));
    const d = out.EventDestinations[0];
    assert.equal(d.Name, "to-sns");
    assert.equal(d.Enabled, true);
    assert.deepEqual([...d.MatchingEventTypes].sort(), ["BOUNCE", "COMPLAINT", "DELIVERY"]);
    assert.equal(d.SnsDestination.TopicArn, topic);
  });

  await t.test("DeleteConfigurationSet, then NotFoundException", async () => {
    await sesv2.send(new v2.DeleteConfigurationSetCommand({ ConfigurationSetName: configSet }));
    const err = await rejects(sesv2.send(new v2.GetConfigurationSetCommand({ ConfigurationSetName: configSet })));
    assert.equal(err.name, "NotFoundException", String(err));
    assert.equal(err.$metadata.httpStatusCode, 404);
  });
});

test("SESv2 email templates", async (t) => {
  await t.test("Create/Get/Update/List (CreatedTimestamp is a Date)/Delete", async () => {
    await sesv2.send(new v2.CreateEmailTemplateCommand({
      TemplateName: template,
      TemplateContent: { Subject: "Hi {{name}}", Text: "Hello {{name}} & co", Html: "<p>Hello {{name}}</p>" },
    }));
    const got = await sesv2.send(new v2.GetEmailTemplateCommand({ TemplateName: template }));
    assert.equal(got.TemplateName, template);
    assert.equal(got.TemplateContent.Subject, "Hi {{name}}");
    assert.equal(got.TemplateContent.Text, "Hello {{name}} & co");
    assert.equal(got.TemplateContent.Html, "<p>Hello {{name}}</p>");

    await sesv2.send(new v2.UpdateEmailTemplateCommand({
      TemplateName: template,
      TemplateContent: { Subject: "Bonjour {{name}} é", Text: "Updated" },
    }));
    const updated = await sesv2.send(new v2.GetEmailTemplateCommand({ TemplateName: template }));
    assert.equal(updated.TemplateContent.Subject, "Bonjour {{name}} é");
    assert.equal(updated.TemplateContent.Text, "Updated");

    const list = await sesv2.send(new v2.ListEmailTemplatesCommand({ PageSize: 100 }));
    const meta = list.TemplatesMetadata.find((m) => m.TemplateName === template);
    assert.ok(meta, `${template} in ${JSON.stringify(list.TemplatesMetadata)}`);
    assertDate(meta.CreatedTimestamp, "TemplatesMetadata[].CreatedTimestamp");

    const dup = await rejects(sesv2.send(new v2.CreateEmailTemplateCommand({
      TemplateName: template, TemplateContent: { Subject: "x", Text: "y" },
    })));
    assert.equal(dup.name, "AlreadyExistsException", String(dup));

    await sesv2.send(new v2.DeleteEmailTemplateCommand({ TemplateName: template }));
    const err = await rejects(sesv2.send(new v2.GetEmailTemplateCommand({ TemplateName: template })));
    assert.equal(err.name, "NotFoundException", String(err));
    assert.equal(err.$metadata.httpStatusCode, 404);
  });
});

test("SESv2 GetAccount", async () => {
  const out = await sesv2.send(new v2.GetAccountCommand({}));
  assert.equal(typeof out.SendingEnabled, "boolean");
  assert.equal(typeof out.ProductionAccessEnabled, "boolean");
  assert.ok(out.SendQuota, "SendQuota present");
  assert.equal(typeof out.SendQuota.Max24HourSend, "number");
  assert.equal(typeof out.SendQuota.MaxSendRate, "number");
  assert.ok(out.$metadata.requestId, "requestId set");
});

test("SESv2 TagResource / ListTagsForResource", { skip: accountId ? false : "no account id given" }, async () => {
  const arn = `arn:aws:ses:${region}:${accountId}:identity/${domain}`;
  await sesv2.send(new v2.TagResourceCommand({
    ResourceArn: arn,
    Tags: [{ Key: "env", Value: "e2e" }, { Key: "owner", Value: "a+b@example.com" }],
  }));
  const out = await sesv2.send(new v2.ListTagsForResourceCommand({ ResourceArn: arn }));
  const tags = Object.fromEntries(out.Tags.map((tg) => [tg.Key, tg.Value]));
  assert.equal(tags.env, "e2e");
  assert.equal(tags.owner, "a+b@example.com");
});

test("SESv2 wrong secret -> InvalidSignatureException 403", async () => {
  const bad = new v2.SESv2Client(config(secretAccessKey + "x"));
  const err = await rejects(bad.send(new v2.GetAccountCommand({})));
  assert.equal(err.name, "InvalidSignatureException", String(err));
  assert.equal(err.$metadata.httpStatusCode, 403);
});

test("SES v1 (Query)", async (t) => {
  const v1Domain = `v1-${domain}`;
  const v1Template = `v1-${template}`;

  await t.test("VerifyDomainDkim returns 3 tokens and a requestId", async () => {
    const out = await ses.send(new v1.VerifyDomainDkimCommand({ Domain: v1Domain }));
    assert.equal(out.DkimTokens.length, 3, JSON.stringify(out));
    assert.ok(out.$metadata.requestId, "$metadata.requestId set");
    assert.equal(out.$metadata.httpStatusCode, 200);
  });

  await t.test("ListIdentities", async () => {
    const out = await ses.send(new v1.ListIdentitiesCommand({ MaxItems: 1000 }));
    assert.ok(out.Identities.includes(v1Domain), `${v1Domain} in ${out.Identities}`);
    assert.ok(out.Identities.includes(plusAddress), `${plusAddress} in ${out.Identities}`);
    assert.ok(out.$metadata.requestId);
  });

  await t.test("GetIdentityVerificationAttributes", async () => {
    const out = await ses.send(new v1.GetIdentityVerificationAttributesCommand({ Identities: [v1Domain, plusAddress] }));
    const attrs = out.VerificationAttributes;
    assert.ok(attrs[v1Domain], JSON.stringify(attrs));
    assert.ok(["Pending", "Success", "Failed", "TemporaryFailure", "NotStarted"].includes(attrs[v1Domain].VerificationStatus));
    assert.ok(attrs[plusAddress], `entry for ${plusAddress}: ${JSON.stringify(attrs)}`);
    assert.ok(out.$metadata.requestId);
  });

  await t.test("CreateTemplate/GetTemplate/DeleteTemplate", async () => {
    const created = await ses.send(new v1.CreateTemplateCommand({
      Template: { TemplateName: v1Template, SubjectPart: "Hi {{n}} & co", TextPart: "T é", HtmlPart: "<b>H</b>" },
    }));
    assert.ok(created.$metadata.requestId);
    const got = await ses.send(new v1.GetTemplateCommand({ TemplateName: v1Template }));
    assert.equal(got.Template.TemplateName, v1Template);
    assert.equal(got.Template.SubjectPart, "Hi {{n}} & co");
    assert.equal(got.Template.TextPart, "T é");
    assert.equal(got.Template.HtmlPart, "<b>H</b>");
    assert.ok(got.$metadata.requestId);
    const del = await ses.send(new v1.DeleteTemplateCommand({ TemplateName: v1Template }));
    assert.ok(del.$metadata.requestId);
    const err = await rejects(ses.send(new v1.GetTemplateCommand({ TemplateName: v1Template })));
    // The wire code is "TemplateDoesNotExist"; JS v3 names the error after the modeled shape.
    assert.equal(err.name, "TemplateDoesNotExistException", String(err));
    assert.ok(err instanceof v1.TemplateDoesNotExistException, "modeled exception class");
    assert.equal(err.$metadata.httpStatusCode, 400);
    assert.ok(err.$metadata.requestId, "requestId on errors too");
  });

  await t.test("DeleteIdentity (v1)", async () => {
    await ses.send(new v1.DeleteIdentityCommand({ Identity: v1Domain }));
  });
});

test("SESv2 DeleteEmailIdentity", async (t) => {
  await t.test("DeleteEmailIdentity, then NotFoundException", async () => {
    await sesv2.send(new v2.DeleteEmailIdentityCommand({ EmailIdentity: domain }));
    await sesv2.send(new v2.DeleteEmailIdentityCommand({ EmailIdentity: plusAddress }));
    const err = await rejects(sesv2.send(new v2.GetEmailIdentityCommand({ EmailIdentity: domain })));
    assert.equal(err.name, "NotFoundException", String(err));
    assert.equal(err.$metadata.httpStatusCode, 404);
  });
  await t.test("deleted identities are no longer listed", async () => {
    const list = await sesv2.send(new v2.ListEmailIdentitiesCommand({}));
    const names = (list.EmailIdentities || []).map((e) => e.IdentityName);
    assert.ok(!names.includes(domain) && !names.includes(plusAddress), `deleted identities still listed: ${names}`);
  });
});
