{{/* Names */}}
{{- define "tracelake.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "tracelake.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* The name of one component's objects: "<fullname>-<component>". */}}
{{- define "tracelake.componentName" -}}
{{- printf "%s-%s" (include "tracelake.fullname" .root) .component | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "tracelake.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "tracelake.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Labels. Plain manifests (deploy/kubernetes) carry no Helm-specific ones. */}}
{{- define "tracelake.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tracelake.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "tracelake.labels" -}}
{{ include "tracelake.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: tracelake
{{- if not .root.Values.plainManifests }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{- end }}
{{- end }}

{{- define "tracelake.image" -}}
{{- $img := .Values.image }}
{{- if $img.digest }}
{{- printf "%s@%s" $img.repository $img.digest }}
{{- else }}
{{- printf "%s:%s" $img.repository (default .Chart.AppVersion $img.tag) }}
{{- end }}
{{- end }}

{{/* Checks that the values make sense together; fails naming the value otherwise. */}}
{{- define "tracelake.validate" -}}
{{- if not (has .Values.mode (list "allInOne" "production")) }}
{{- fail (printf "mode: %q is not allInOne or production" .Values.mode) }}
{{- end }}
{{- if not (has .Values.storage.type (list "local" "s3")) }}
{{- fail (printf "storage.type: %q is not local or s3" .Values.storage.type) }}
{{- end }}
{{- if and (eq .Values.mode "production") (eq .Values.storage.type "local") (not .Values.minio.enabled) }}
{{- fail "mode=production needs object storage shared by every pod: set storage.type=s3 and storage.s3.bucket, or minio.enabled=true to try it with a bundled MinIO" }}
{{- end }}
{{- if and (eq .Values.storage.type "s3") (not .Values.minio.enabled) (not .Values.storage.s3.bucket) }}
{{- fail "storage.s3.bucket: must be set when storage.type=s3" }}
{{- end }}
{{- if and .Values.storage.s3.existingSecret (or .Values.storage.s3.accessKeyId .Values.storage.s3.secretAccessKey) }}
{{- fail "storage.s3: set existingSecret or accessKeyId/secretAccessKey, not both" }}
{{- end }}
{{- if ne (empty .Values.storage.s3.accessKeyId) (empty .Values.storage.s3.secretAccessKey) }}
{{- fail "storage.s3: accessKeyId and secretAccessKey must be set together" }}
{{- end }}
{{- if and .Values.minio.enabled (not (regexMatch "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$" .Values.minio.bucket)) }}
{{- fail (printf "minio.bucket: %q is not a valid bucket name (3-63 of a-z, 0-9, '.', '-')" .Values.minio.bucket) }}
{{- end }}
{{- if and .Values.minio.enabled .Values.minio.rootPassword (lt (len .Values.minio.rootPassword) 8) }}
{{- fail "minio.rootPassword: MinIO needs at least 8 characters" }}
{{- end }}
{{- end }}

{{/* storage.url for tracelake's configuration. */}}
{{- define "tracelake.storageURL" -}}
{{- if .Values.minio.enabled }}
{{- printf "s3://%s?endpoint=%s:9000&insecure=true&path-style=true&region=us-east-1" .Values.minio.bucket (include "tracelake.componentName" (dict "root" . "component" "minio")) }}
{{- else if eq .Values.storage.type "s3" }}
{{- $s3 := .Values.storage.s3 }}
{{- $params := list }}
{{- if $s3.endpoint }}{{ $params = append $params (printf "endpoint=%s" $s3.endpoint) }}{{ end }}
{{- if $s3.region }}{{ $params = append $params (printf "region=%s" $s3.region) }}{{ end }}
{{- if $s3.insecure }}{{ $params = append $params "insecure=true" }}{{ end }}
{{- if $s3.pathStyle }}{{ $params = append $params "path-style=true" }}{{ end }}
{{- $url := printf "s3://%s" $s3.bucket }}
{{- if $s3.prefix }}{{ $url = printf "%s/%s" $url (trimAll "/" $s3.prefix) }}{{ end }}
{{- if $params }}{{ $url = printf "%s?%s" $url (join "&" $params) }}{{ end }}
{{- $url }}
{{- else }}
{{- .Values.storage.local.path }}
{{- end }}
{{- end }}

{{/* The configuration file: the chart's settings, then .Values.config over them. */}}
{{- define "tracelake.configFile" -}}
{{- $cfg := dict
  "storage" (dict "url" (include "tracelake.storageURL" .))
  "log" (dict "format" "json")
  "compactor" (dict "temp-dir" "/tmp/tracelake-compactor")
  "plugins" (dict "cache-dir" "/tmp/tracelake-plugins") }}
{{- if .Values.samplingStrategies }}
{{- $_ := set $cfg "ingest" (dict "sampling" (dict "strategies-file" "/etc/tracelake/sampling-strategies.json")) }}
{{- end }}
{{- $cfg = mergeOverwrite $cfg (deepCopy .Values.config) }}
{{- toYaml $cfg }}
{{- end }}

{{/* The Secret whose keys become the tracelake pods' environment (S3 credentials), if any. */}}
{{- define "tracelake.credentialsSecret" -}}
{{- if .Values.minio.enabled }}
{{- include "tracelake.componentName" (dict "root" . "component" "minio") }}
{{- else if eq .Values.storage.type "s3" }}
{{- if .Values.storage.s3.existingSecret }}
{{- .Values.storage.s3.existingSecret }}
{{- else if .Values.storage.s3.accessKeyId }}
{{- include "tracelake.componentName" (dict "root" . "component" "s3") }}
{{- end }}
{{- end }}
{{- end }}

{{/* Ports, by role. */}}
{{- define "tracelake.ingestPorts" -}}
- {name: otlp-grpc, containerPort: 4317, protocol: TCP}
- {name: otlp-http, containerPort: 4318, protocol: TCP}
- {name: zipkin, containerPort: 9411, protocol: TCP}
- {name: jaeger-grpc, containerPort: 14250, protocol: TCP}
- {name: jaeger-thrift, containerPort: 14268, protocol: TCP}
- {name: jaeger-compact, containerPort: 6831, protocol: UDP}
- {name: jaeger-binary, containerPort: 6832, protocol: UDP}
- {name: sampling, containerPort: 5778, protocol: TCP}
{{- end }}

{{- define "tracelake.ingestServicePorts" -}}
- {name: otlp-grpc, port: 4317, targetPort: otlp-grpc, protocol: TCP, appProtocol: grpc}
- {name: otlp-http, port: 4318, targetPort: otlp-http, protocol: TCP, appProtocol: http}
- {name: zipkin, port: 9411, targetPort: zipkin, protocol: TCP, appProtocol: http}
- {name: jaeger-grpc, port: 14250, targetPort: jaeger-grpc, protocol: TCP, appProtocol: grpc}
- {name: jaeger-thrift, port: 14268, targetPort: jaeger-thrift, protocol: TCP, appProtocol: http}
- {name: jaeger-compact, port: 6831, targetPort: jaeger-compact, protocol: UDP}
- {name: jaeger-binary, port: 6832, targetPort: jaeger-binary, protocol: UDP}
- {name: sampling, port: 5778, targetPort: sampling, protocol: TCP, appProtocol: http}
{{- end }}

{{/*
The pod template shared by every tracelake workload.
Takes (dict "root" $ "component" "ingest" "role" "ingest" "values" .Values.ingest "ports" <yaml list> "dataVolume" bool).
*/}}
{{- define "tracelake.podTemplate" -}}
{{- $root := .root }}
{{- $v := .values -}}
metadata:
  labels:
    {{- include "tracelake.selectorLabels" . | nindent 4 }}
    {{- with $root.Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- $ann := dict }}
  {{- if not $root.Values.plainManifests }}
  {{- /* Roll the pods when their configuration or credentials change. */}}
  {{- $_ := set $ann "checksum/config" (include "tracelake.configMapData" $root | sha256sum) }}
  {{- if and (include "tracelake.credentialsSecret" $root) (or $root.Values.minio.enabled $root.Values.storage.s3.accessKeyId) }}
  {{- $_ := set $ann "checksum/credentials" (list $root.Values.storage.s3.accessKeyId $root.Values.storage.s3.secretAccessKey $root.Values.minio.rootUser $root.Values.minio.rootPassword | join "/" | sha256sum) }}
  {{- end }}
  {{- end }}
  {{- $ann = merge $ann $root.Values.podAnnotations }}
  {{- with $ann }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  serviceAccountName: {{ include "tracelake.serviceAccountName" $root }}
  automountServiceAccountToken: {{ $root.Values.serviceAccount.automountToken }}
  {{- with $root.Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $root.Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  securityContext:
    {{- toYaml $root.Values.podSecurityContext | nindent 4 }}
  terminationGracePeriodSeconds: {{ $v.terminationGracePeriodSeconds }}
  {{- with (default $root.Values.nodeSelector $v.nodeSelector) }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with (default $root.Values.tolerations $v.tolerations) }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with (default $root.Values.affinity $v.affinity) }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with (default $root.Values.topologySpreadConstraints $v.topologySpreadConstraints) }}
  topologySpreadConstraints:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  containers:
    - name: tracelake
      image: {{ include "tracelake.image" $root }}
      imagePullPolicy: {{ $root.Values.image.pullPolicy }}
      args:
        - {{ .role }}
        - --config=/etc/tracelake/config.yaml
        {{- with $v.extraArgs }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- with $root.Values.extraEnv }}
      env:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- $secret := include "tracelake.credentialsSecret" $root }}
      {{- if or $secret $root.Values.extraEnvFrom }}
      envFrom:
        {{- if $secret }}
        - secretRef:
            name: {{ $secret }}
            {{- if $root.Values.plainManifests }}
            # Plain manifests: the Secret is made by an overlay, or absent when the
            # pods have an IAM role.
            optional: true
            {{- end }}
        {{- end }}
        {{- with $root.Values.extraEnvFrom }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- end }}
      ports:
        {{- with .ports }}
        {{- . | nindent 8 }}
        {{- end }}
        - {name: admin, containerPort: 14269, protocol: TCP}
      startupProbe:
        httpGet: {path: /healthz, port: admin}
        periodSeconds: {{ $root.Values.probes.startup.periodSeconds }}
        timeoutSeconds: {{ $root.Values.probes.startup.timeoutSeconds }}
        failureThreshold: {{ $root.Values.probes.startup.failureThreshold }}
      livenessProbe:
        httpGet: {path: /healthz, port: admin}
        initialDelaySeconds: {{ $root.Values.probes.liveness.initialDelaySeconds }}
        periodSeconds: {{ $root.Values.probes.liveness.periodSeconds }}
        timeoutSeconds: {{ $root.Values.probes.liveness.timeoutSeconds }}
        failureThreshold: {{ $root.Values.probes.liveness.failureThreshold }}
      readinessProbe:
        httpGet: {path: /readyz, port: admin}
        periodSeconds: {{ $root.Values.probes.readiness.periodSeconds }}
        timeoutSeconds: {{ $root.Values.probes.readiness.timeoutSeconds }}
        failureThreshold: {{ $root.Values.probes.readiness.failureThreshold }}
      {{- with $v.resources }}
      resources:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- toYaml $root.Values.securityContext | nindent 8 }}
      volumeMounts:
        - {name: config, mountPath: /etc/tracelake, readOnly: true}
        - {name: tmp, mountPath: /tmp}
        {{- if .dataVolume }}
        - {name: data, mountPath: {{ $root.Values.storage.local.path }}}
        {{- end }}
        {{- with $root.Values.extraVolumeMounts }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
  volumes:
    - name: config
      configMap:
        name: {{ include "tracelake.fullname" $root }}
    - name: tmp
      emptyDir:
        sizeLimit: {{ $root.Values.tmpSizeLimit }}
    {{- if .dataVolume }}
    {{- $p := $root.Values.storage.local.persistence }}
    - name: data
      {{- if $p.enabled }}
      persistentVolumeClaim:
        claimName: {{ default (include "tracelake.fullname" $root) $p.existingClaim }}
      {{- else }}
      emptyDir: {}
      {{- end }}
    {{- end }}
    {{- with $root.Values.extraVolumes }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end }}

{{/* The ConfigMap's data, also hashed into the pods' checksum annotation. */}}
{{- define "tracelake.configMapData" -}}
config.yaml: |
  {{- include "tracelake.configFile" . | nindent 2 }}
{{- with .Values.samplingStrategies }}
sampling-strategies.json: |
  {{- toPrettyJson . | nindent 2 }}
{{- end }}
{{- end }}
