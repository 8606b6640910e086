/**
 * Kuma 2.14's own Mesh validator tables (pkg/core/resources/apis/mesh/mesh_validator_test.go,
 * meta_validator_test.go, pkg/plugins/ca/{builtin,provided}/manager_test.go), ported: same inputs,
 * Kuma's messages, in both formats. Where our path differs from Kuma's, the row says why: we give the
 * path of the field as written (`conf`, not Kuma's `config`; the backend's index under mtls).
 */
import { FORMATS, type Expected, expectIssues, staticErrors, yaml } from './validate-support';

const VALID_EVERYTHING = yaml(`
  mtls:
    enabledBackend: builtin-1
    backends:
    - name: builtin-1
      type: builtin
      dpCert:
        rotation:
          expiration: 2y
  logging:
    backends:
    - name: file-1
      type: file
      conf:
        path: /path/to/file
    - name: file-2
      format: '%START_TIME% %KUMA_SOURCE_SERVICE%'
      type: file
      conf:
        path: /path/to/file2
    - name: tcp-1
      type: tcp
      conf:
        address: kibana:1234
    defaultBackend: tcp-1
  tracing:
    backends:
    - name: zipkin-us
      sampling: 80.0
      type: zipkin
      conf:
        url: http://zipkin.local:9411/v2/spans
        traceId128bit: true
        apiVersion: httpProto
        sharedSpanContext: true
    - name: zipkin-eu
      type: zipkin
      conf:
        url: http://zipkin.local:9411/v2/spans
    defaultBackend: zipkin-us
  metrics:
    enabledBackend: prom-1
    backends:
    - name: prom-1
      type: prometheus
      conf:
        port: 5670
        path: /metrics
        envoy:
          filterRegex: ^server[0-9]+
          usedOnly: true
        aggregate:
        - name: application
          port: 1234
          path: "/stats"
        - name: sidecar
          port: 12345
          path: "/stats/sidecar"
        tls:
          mode: providedTLS
  constraints:
    dataplaneProxy:
      requirements:
      - tags:
          k8s.kuma.io/namespace: ns-1
          kuma.io/zone: east
      restrictions:
      - tags:
          k8s.kuma.io/namespace: ns-1
          kuma.io/zone: west
  routing:
    zoneEgress: true
`);

const CASES: [string, string, Expected][] = [
  // Kuma OSS also reports "mtls.backends: cannot have more than 1 backends"; Kong Mesh allows several.
  ['multiple ca backends of the same name', `
    mtls:
      enabledBackend: backend-1
      backends:
      - name: backend-1
        type: builtin
      - name: backend-1
        type: builtin`, [['mtls.backends[1].name', '"backend-1" name is already used for another backend']]],
  ['enabledBackend of unknown name', `
    mtls:
      enabledBackend: backend-2
      backends:
      - name: backend-1
        type: builtin`, [['mtls.enabledBackend', 'has to be set to one of the backends in the mesh']]],
  // Kuma: mtls.dpcert.rotation.expiration
  ['dpCert rotation invalid expiration time', `
    mtls:
      enabledBackend: backend-3
      backends:
      - name: backend-3
        type: builtin
        dpCert:
          rotation:
            expiration: 2e`, [['mtls.backends[0].dpCert.rotation.expiration', 'has to be a valid format']]],
  ['logging backend with empty name', `
    logging:
      backends:
      - name:
        type: tcp
        conf:
          address: kibana:1234`, [['logging.backends[0].name', 'cannot be empty']]],
  ['multiple logging backends of the same name', `
    logging:
      backends:
      - name: backend-1
        type: tcp
        conf:
          address: kibana:1234
      - name: backend-1
        type: file
        conf:
          path: /path/to/file
      defaultBackend: backend-1`, [['logging.backends[1].name', '"backend-1" name is already used for another backend']]],
  // Kuma: logging.backends[0].config.address (and so on for every logging and tracing conf)
  ['tcp logging address is empty', `
    logging:
      backends:
      - name: backend-1
        type: tcp
        conf:
          address:
      defaultBackend: backend-1`, [['logging.backends[0].conf.address', 'cannot be empty']]],
  ['tcp logging address is invalid', `
    logging:
      backends:
      - name: backend-1
        type: tcp
        conf:
          address: wrong-format:234:234
      defaultBackend: backend-1`, [['logging.backends[0].conf.address', 'has to be in format of HOST:PORT']]],
  ['file logging path is empty', `
    logging:
      backends:
      - name: backend-1
        type: file
        conf:
          path:
      defaultBackend: backend-1`, [['logging.backends[0].conf.path', 'cannot be empty']]],
  ['logging default backend has to be one of the backends', `
    logging:
      backends:
      - name: backend-1
        type: file
        conf:
          path: /path
      defaultBackend: non-existing-backend`, [['logging.defaultBackend', 'has to be set to one of the logging backend in mesh']]],
  ['tracing backend with empty name', `
    tracing:
      backends:
      - name:
        type: zipkin
        conf:
          url: http://zipkin.local:9411/v2/spans`, [['tracing.backends[0].name', 'cannot be empty']]],
  ['multiple tracing backends with the same name', `
    tracing:
      backends:
      - name: zipkin-us
        type: zipkin
        conf:
          url: http://zipkin.local:9411/v2/spans
      - name: zipkin-us
        type: zipkin
        conf:
          url: http://zipkin.local:9411/v2/spans`, [['tracing.backends[1].name', '"zipkin-us" name is already used for another backend']]],
  ['tracing with invalid sampling', `
    tracing:
      backends:
      - name: zipkin-us
        sampling: 100.1
        type: zipkin
        conf:
          url: http://zipkin-us.local:9411/v2/spans`, [['tracing.backends[0].sampling', 'has to be in [0.0 - 100.0] range']]],
  ['zipkin without url', `
    tracing:
      backends:
      - name: zipkin-us
        type: zipkin
        conf:
          url: ""`, [['tracing.backends[0].conf.url', 'cannot be empty']]],
  ['zipkin with invalid url', `
    tracing:
      backends:
      - name: zipkin-us
        type: zipkin
        conf:
          url: invalid-url`, [['tracing.backends[0].conf.url', 'invalid URL']]],
  ['zipkin with valid url but without port', `
    tracing:
      backends:
      - name: zipkin-us
        type: zipkin
        conf:
          url: http://zipkin-us.local/v2/spans`, [['tracing.backends[0].conf.url', 'port has to be explicitly specified']]],
  ['zipkin with invalid apiVersion', `
    tracing:
      backends:
      - name: zipkin-us
        type: zipkin
        conf:
          url: http://zipkin-us.local:9411/v2/spans
          apiVersion: invalid`, [['tracing.backends[0].conf.apiVersion', 'has invalid value. Allowed values: httpJsonV1, httpJson, httpProto']]],
  ['tracing default backend has to be one of the backends', `
    tracing:
      defaultBackend: non-existent
      backends:
      - name: zipkin-us
        type: zipkin
        conf:
          url: http://zipkin.local:9411/v2/spans`, [['tracing.defaultBackend', 'has to be set to one of the tracing backend in mesh']]],
  ['multiple metrics backends of the same name', `
    metrics:
      enabledBackend: backend-1
      backends:
      - name: backend-1
        type: prometheus
      - name: backend-1
        type: prometheus`, [['metrics.backends[1].name', '"backend-1" name is already used for another backend']]],
  ['metrics enabledBackend of unknown name', `
    metrics:
      enabledBackend: backend-2
      backends:
      - name: backend-1
        type: prometheus`, [['metrics.enabledBackend', 'has to be set to one of the backends in the mesh']]],
  ['unknown backend types', `
    metrics:
      backends:
      - name: backend-1
        type: xxx
    logging:
      backends:
      - name: backend-1
        type: xxx
    tracing:
      backends:
      - name: backend-1
        type: xxx`, [
    ['logging.backends[0].type', 'unknown backend type. Available backends: "tcp", "file"'],
    ['tracing.backends[0].type', 'unknown backend type. Available backends: "zipkin", "datadog"'],
    ['metrics.backends[0].type', 'unknown backend type. Available backends: "prometheus"'],
  ]],
  ['constraints dataplaneProxy with invalid tags', `
    constraints:
      dataplaneProxy:
        requirements:
        - {}
        - tags:
            '': ''
        - tags:
            '!@#$': '!@#$'
        restrictions:
        - {}
        - tags:
            '': ''
        - tags:
            '!@#$': '!@#$'`, ['requirements', 'restrictions'].flatMap((list): Expected => [
    [`constraints.dataplaneProxy.${list}[0].tags`, 'must have at least one tag'],
    [`constraints.dataplaneProxy.${list}[1].tags`, 'tag name must be non-empty'],
    [`constraints.dataplaneProxy.${list}[1].tags[""]`, 'tag value must be non-empty'],
    [`constraints.dataplaneProxy.${list}[2].tags["!@#$"]`, 'tag name must consist of alphanumeric characters, dots, dashes, slashes and underscores'],
    [`constraints.dataplaneProxy.${list}[2].tags["!@#$"]`, 'tag value must consist of alphanumeric characters, dots, dashes, slashes and underscores or be "*"'],
  ])],
  ['multiple errors', `
    mtls:
      enabledBackend: invalid-backend
    logging:
      backends:
      - name:
        type: file
        conf:
          path: /path
      - name: tcp-1
        type: file
        conf:
          address: invalid-address
      - name: tcp-1
        type: tcp
        path:
          address:
      defaultBackend: invalid-backend`, [
    ['mtls.enabledBackend', 'has to be set to one of the backends in the mesh'],
    ['logging.backends[0].name', 'cannot be empty'],
    ['logging.backends[1].conf.path', 'cannot be empty'],
    ['logging.backends[2].conf.address', 'cannot be empty'],
    ['logging.backends[2].name', '"tcp-1" name is already used for another backend'],
    ['logging.defaultBackend', 'has to be set to one of the logging backend in mesh'],
  ]],
  ['zoneEgress enabled but mtls not defined', `
    routing:
      zoneEgress: true`, [['mtls', 'has to be set when zoneEgress enabled']]],
  ['zoneEgress enabled with two backends of the same name (several backends are fine in Kong Mesh)', `
    mtls:
      enabledBackend: backend-1
      backends:
      - name: backend-1
        type: builtin
      - name: backend-1
        type: builtin
    routing:
      zoneEgress: true`, [['mtls.backends[1].name', '"backend-1" name is already used for another backend']]],
  ['zoneEgress and mTLS backends but no enabledBackend', `
    mtls:
      backends:
      - name: backend-1
        type: builtin
    routing:
      zoneEgress: true`, [['mtls', 'has to be set when zoneEgress enabled']]],
  ['metrics aggregate configuration contains duplicate entries', `
    metrics:
      backends:
      - name: backend-1
        type: prometheus
        conf:
          aggregate:
          - name: app
            path: "/stats/"
            port: 123
          - name: app
            path: "/stats"
          - name: sidecar
            port: 12345
          - name: sidecar
      - name: backend-2
        type: prometheus
        conf:
          aggregate:
          - name: app
            path: "/stats/"
            port: 123
          - name: app
            path: "/stats"`, [
    ['metrics.backends[0].conf.aggregate[1].name', 'duplicate entry: app, values have to be unique'],
    ['metrics.backends[0].conf.aggregate[3].name', 'duplicate entry: sidecar, values have to be unique'],
    ['metrics.backends[1].conf.aggregate[1].name', 'duplicate entry: app, values have to be unique'],
  ]],
  ...([
    ['true', 'providedTLS'],
    ['false', 'providedTLS'],
    ['false', 'disabled'],
    ['true', 'activeMTLSBackend'],
  ] as const).map(([skip, mode]): [string, string, Expected] => [`metrics with skipMTLS: ${skip} and tls.mode: ${mode}`, `
    metrics:
      backends:
      - name: backend-1
        type: prometheus
        conf:
          skipMTLS: ${skip}
          tls:
            mode: ${mode}`, [['metrics.backends[0].conf', 'skipMTLS and tls configuration cannot be defined together']]]),
];

describe.each(FORMATS)("Kuma's Mesh validator cases (%s)", (format) => {
  it('accepts the valid Mesh of every section (and with skipMTLS: false and no tls)', () => {
    expect(staticErrors(format, VALID_EVERYTHING)).toEqual([]);
    expect(staticErrors(format, VALID_EVERYTHING.replace('        tls:\n          mode: providedTLS\n', '        skipMTLS: false\n'))).toEqual([]);
  });

  it.each(CASES)('%s', (_name, spec, expected) => {
    expectIssues(staticErrors(format, yaml(spec)), expected);
  });
});
