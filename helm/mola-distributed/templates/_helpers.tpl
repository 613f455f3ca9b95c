{{/* Names and labels shared by every template. */}}

{{- define "mola.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's full name; objects append a role (-silo, -postgresql, ...): a StatefulSet name must stay within 52 characters (its pods get a controller-revision-hash label of name + 11 characters, and labels end at 63). */}}
{{- define "mola.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "mola.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "mola.labels" -}}
helm.sh/chart: {{ include "mola.chart" . }}
{{ include "mola.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "mola.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mola.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Selector labels of one role: silo, worker, postgresql. Call with (dict "ctx" $ "role" "silo"). */}}
{{- define "mola.roleSelectorLabels" -}}
{{ include "mola.selectorLabels" .ctx }}
app.kubernetes.io/component: {{ .role }}
{{- end }}

{{/* Pod labels of a silo (both roles): the Orleans labels UseKubernetesHosting reads and watches pods by. */}}
{{- define "mola.siloPodLabels" -}}
{{ include "mola.labels" .ctx }}
app.kubernetes.io/component: {{ .role }}
mola.dev/silo: "true"
orleans/clusterId: {{ .ctx.Values.cluster.clusterId | quote }}
orleans/serviceId: {{ .ctx.Values.cluster.serviceId | quote }}
{{- end }}

{{- define "mola.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "mola.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "mola.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- define "mola.apiTokenSecret" -}}
{{- default (printf "%s-api-token" (include "mola.fullname" .)) .Values.apiToken.existingSecret }}
{{- end }}

{{- define "mola.postgresqlSecret" -}}
{{- default (printf "%s-postgresql" (include "mola.fullname" .)) .Values.postgresql.auth.existingSecret }}
{{- end }}

{{/* Exactly one source of the database connection; the schema cannot say "one of three", so the chart does. */}}
{{- define "mola.validateDatabase" -}}
{{- $sources := 0 }}
{{- if .Values.database.existingSecret }}{{ $sources = add1 $sources }}{{ end }}
{{- if .Values.database.connectionString }}{{ $sources = add1 $sources }}{{ end }}
{{- if .Values.postgresql.enabled }}{{ $sources = add1 $sources }}{{ end }}
{{- if ne $sources 1 }}
{{- fail "database: set exactly one of database.existingSecret, database.connectionString, postgresql.enabled" }}
{{- end }}
{{- if and .Values.postgresql.enabled (ne .Values.cluster.provider "postgres") }}
{{- fail "postgresql.enabled: the bundled PostgreSQL needs cluster.provider postgres" }}
{{- end }}
{{- end }}

{{/* The environment that gives a silo or the migration its connection string (MOLA_SILO_CONNECTION_STRING). */}}
{{- define "mola.databaseEnv" -}}
{{- if .Values.postgresql.enabled }}
- name: MOLA_POSTGRES_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "mola.postgresqlSecret" . }}
      key: password
- name: MOLA_SILO_CONNECTION_STRING
  value: {{ printf "Host=%s-postgresql;Port=5432;Database=%s;Username=%s;Password=$(MOLA_POSTGRES_PASSWORD)" (include "mola.fullname" .) .Values.postgresql.database .Values.postgresql.username | quote }}
{{- else }}
- name: MOLA_SILO_CONNECTION_STRING
  valueFrom:
    secretKeyRef:
      name: {{ default (printf "%s-database" (include "mola.fullname" .)) .Values.database.existingSecret }}
      key: {{ if .Values.database.existingSecret }}{{ .Values.database.existingSecretKey }}{{ else }}connection-string{{ end }}
{{- end }}
{{- end }}

{{/* Whether the migration Job runs before install (an external database exists by then) or after it. */}}
{{- define "mola.migrationHook" -}}
{{- if .Values.postgresql.enabled }}post-install,pre-upgrade{{ else }}pre-install,pre-upgrade{{ end }}
{{- end }}
