// The Kubernetes manifests are validated against the Kubernetes API's own JSON schemas
// (kubernetes-models), and the enclave pod's hardening is asserted field by field, so that a
// manifest edit that drops a protection fails CI rather than a security review.
import assert from 'node:assert/strict'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { parse, parseAllDocuments } from 'yaml'
import { Deployment } from 'kubernetes-models/apps/v1'
import { ConfigMap, Namespace, Service } from 'kubernetes-models/v1'
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1'

const dir = join(import.meta.dirname, '..', 'k8s')
const models: Record<string, new (data: never) => { validate(): void }> = {
  'apps/v1/Deployment': Deployment,
  'v1/Service': Service,
  'v1/ConfigMap': ConfigMap,
  'v1/Namespace': Namespace,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
}

async function loadManifests(): Promise<Array<{ file: string; doc: any }>> {
  const out: Array<{ file: string; doc: any }> = []
  for (const file of (await readdir(dir)).filter((f) => f.endsWith('.yaml')).sort()) {
    for (const document of parseAllDocuments(await readFile(join(dir, file), 'utf8'))) {
      assert.deepEqual(document.errors, [], file)
      out.push({ file, doc: document.toJS() })
    }
  }
  return out
}

test('every manifest validates against the Kubernetes API schema of its kind', async () => {
  const manifests = await loadManifests()
  assert.ok(manifests.length >= 9)
  for (const { file, doc } of manifests) {
    const Model = models[`${doc.apiVersion}/${doc.kind}`]
    assert.ok(Model, `${file}: no schema for ${doc.apiVersion} ${doc.kind}`)
    assert.doesNotThrow(
      () => new Model(doc as never).validate(),
      `${file}: ${doc.kind} ${doc.metadata?.name}`,
    )
  }
})

test('a schema violation is caught (the validator is live)', () => {
  const broken = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'x' },
    spec: { replicas: 'two' },
  }
  assert.throws(() => new Deployment(broken as never).validate())
})

test('every pod runs non-root, read-only, without privilege escalation or capabilities', async () => {
  for (const { file, doc } of await loadManifests()) {
    if (doc.kind !== 'Deployment') continue
    const pod = doc.spec.template.spec
    assert.equal(pod.automountServiceAccountToken, false, file)
    assert.equal(pod.securityContext.runAsNonRoot, true, file)
    assert.equal(pod.securityContext.seccompProfile.type, 'RuntimeDefault', file)
    for (const container of pod.containers) {
      assert.equal(container.securityContext.allowPrivilegeEscalation, false, file)
      assert.equal(container.securityContext.readOnlyRootFilesystem, true, file)
      assert.deepEqual(container.securityContext.capabilities.drop, ['ALL'], file)
      assert.equal(container.securityContext.capabilities.add, undefined, file)
    }
  }
})

test('the enclave may only egress to DNS, the AS, Redis and public HTTPS', async () => {
  const policy = (await loadManifests()).find((m) => m.doc.kind === 'NetworkPolicy')?.doc
  assert.deepEqual(policy.spec.policyTypes, ['Ingress', 'Egress'])
  assert.deepEqual(policy.spec.podSelector.matchLabels, {
    'app.kubernetes.io/name': 'dauth-enclave',
  })
  const ports = policy.spec.egress
    .flatMap((rule: any) => rule.ports.map((p: any) => `${p.protocol}/${p.port}`))
    .sort()
  assert.deepEqual(ports, ['TCP/4000', 'TCP/443', 'TCP/53', 'TCP/6379', 'UDP/53'])
  const https = policy.spec.egress.find((rule: any) => rule.ports.some((p: any) => p.port === 443))
  for (const cidr of [
    '10.0.0.0/8',
    '172.16.0.0/12',
    '192.168.0.0/16',
    '169.254.0.0/16',
    '127.0.0.0/8',
  ]) {
    assert.ok(https.to[0].ipBlock.except.includes(cidr), cidr)
  }
})

test('compose: the enclave publishes no port and every service is read-only without capabilities', async () => {
  const compose = parse(await readFile(join(import.meta.dirname, '..', 'compose.yaml'), 'utf8'), {
    merge: true,
  })
  assert.equal(compose.services.enclave.ports, undefined)
  assert.deepEqual(compose.services.enclave.networks, ['internal', 'egress'])
  assert.equal(compose.networks.internal.internal, true)
  for (const name of ['as', 'enclave', 'example-mcp']) {
    assert.equal(compose.services[name].read_only, true, name)
    assert.deepEqual(compose.services[name].cap_drop, ['ALL'], name)
    assert.deepEqual(compose.services[name].security_opt, ['no-new-privileges:true'], name)
  }
})
