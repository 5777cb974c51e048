{{/* The chart's name, overridable. */}}
{{- define "sluice.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The full name of the objects: the release name, with the chart name unless it is part of it. */}}
{{- define "sluice.fullname" -}}
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

{{- define "sluice.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "sluice.labels" -}}
helm.sh/chart: {{ include "sluice.chart" . }}
{{ include "sluice.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: sluice
{{- end }}

{{/* Labels that select the operator's pods. */}}
{{- define "sluice.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sluice.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "sluice.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "sluice.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "sluice.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/*
The rules Sluice needs in every namespace it manages, and nothing more:
- releases: kopf lists and watches them, and patches its finalizer and progress annotations;
- releases/status: the engine writes the status (one merge patch per change);
- releasegroups, releasegroups/status: the group engine watches groups, patches its
  finalizer (group rollback on deletion) and writes their status;
- rolloutpolicies: read the policy a Release names;
- deployments: read replicas, readiness, labels and the pod template's hash (never written);
- deployments/scale: the only way Sluice changes a Deployment;
- services: the blue/green router switches the selector;
- configmaps (releaseNotes.publish): read the notes ConfigMap a finished Release names and
  patch its metadata only (the publish mark); the names are per version, so no resourceNames;
- httproutes: the Gateway API router sets backendRef weights;
- events: the engine posts an Event per transition (kubectl describe shows them);
- secrets: only the named ones that RolloutPolicy providers use for Prometheus auth;
- jobs: go/no-go gate Jobs are created (owned by the Release: no delete needed) and read;
- gates.conditionResources: read (get) the objects condition gates name, no other verb.
*/}}
{{- define "sluice.rules" -}}
- apiGroups: ["sluice.dev"]
  resources: ["releases"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["sluice.dev"]
  resources: ["releases/status"]
  verbs: ["patch"]
- apiGroups: ["sluice.dev"]
  resources: ["releasegroups"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["sluice.dev"]
  resources: ["releasegroups/status"]
  verbs: ["patch"]
# Watched (list, watch): changes wake the Releases that depend on them; reads come from there.
- apiGroups: ["sluice.dev"]
  resources: ["rolloutpolicies"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["apps"]
  resources: ["deployments/scale"]
  verbs: ["get", "patch"]
- apiGroups: [""]
  resources: ["services"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["gateway.networking.k8s.io"]
  resources: ["httproutes"]
  verbs: ["get", "list", "watch", "patch"]
# Feature flags (OpenFeature Operator): the kill switch and flag rollouts patch them.
- apiGroups: ["core.openfeature.dev"]
  resources: ["featureflags"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
- apiGroups: ["sluice.dev"]
  resources: ["releasecalendars"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["sluice.dev"]
  resources: ["releasecalendars/status"]
  verbs: ["patch"]
{{- with .Values.calendar.icsConfigMaps }}
- apiGroups: [""]
  resources: ["configmaps"]
  resourceNames:
  {{- range . }}
    - {{ . | quote }}
  {{- end }}
  verbs: ["get"]
{{- end }}
{{- if .Values.releaseNotes.publish }}
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["get", "patch"]
{{- end }}
{{- if .Values.gates.jobs }}
- apiGroups: ["batch"]
  resources: ["jobs"]
  verbs: ["get", "create"]
{{- end }}
{{- range .Values.gates.conditionResources }}
{{- if not (and $.Values.gates.jobs (eq .apiGroup "batch") (eq .resource "jobs")) }}
- apiGroups: [{{ .apiGroup | quote }}]
  resources: [{{ .resource | quote }}]
  verbs: ["get"]
{{- end }}
{{- end }}
{{- $secretNames := concat (.Values.prometheus.authSecretNames | default list) (.Values.notifications.secretNames | default list) | uniq }}
{{- with $secretNames }}
- apiGroups: [""]
  resources: ["secrets"]
  resourceNames:
  {{- range . }}
    - {{ . | quote }}
  {{- end }}
  verbs: ["get"]
{{- end }}
{{- end }}
