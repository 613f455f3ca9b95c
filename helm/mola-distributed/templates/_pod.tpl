{{/*
The pod template of a silo; both StatefulSets use it. Call with
(dict "ctx" $ "role" "silo"|"worker" "agent" bool "slots" int "values" .Values.silo|.Values.workers).
*/}}
{{- define "mola.siloPod" -}}
{{- $ctx := .ctx }}
{{- $v := .values }}
metadata:
  labels:
    {{- include "mola.siloPodLabels" (dict "ctx" $ctx "role" .role) | nindent 4 }}
  annotations:
    checksum/config: {{ include (print $ctx.Template.BasePath "/configmap.yaml") $ctx | sha256sum }}
    {{- with $v.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "mola.serviceAccountName" $ctx }}
  {{- with $ctx.Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    {{- toYaml $ctx.Values.podSecurityContext | nindent 4 }}
  {{- if .terminationGracePeriodSeconds }}
  terminationGracePeriodSeconds: {{ .terminationGracePeriodSeconds }}
  {{- end }}
  {{- if .runtimeClassName }}
  runtimeClassName: {{ .runtimeClassName }}
  {{- end }}
  containers:
    - name: silo
      image: {{ include "mola.image" $ctx }}
      imagePullPolicy: {{ $ctx.Values.image.pullPolicy }}
      command: ["mola"]
      args:
        - silo
        - --config
        - /etc/mola/silo.yaml
        - --node-name
        - $(POD_NAME)
        - --node-address
        - $(POD_IP)
        - --agent
        - {{ .agent | quote }}
        - --cpu-slots
        - {{ .slots | quote }}
        {{- if .threadsPerSlot }}
        - --threads-per-slot
        - {{ .threadsPerSlot | quote }}
        {{- end }}
      env:
        - name: POD_NAME
          valueFrom: {fieldRef: {fieldPath: metadata.name}}
        - name: POD_NAMESPACE
          valueFrom: {fieldRef: {fieldPath: metadata.namespace}}
        - name: POD_IP
          valueFrom: {fieldRef: {fieldPath: status.podIP}}
        - name: ORLEANS_CLUSTER_ID
          valueFrom: {fieldRef: {fieldPath: "metadata.labels['orleans/clusterId']"}}
        - name: ORLEANS_SERVICE_ID
          valueFrom: {fieldRef: {fieldPath: "metadata.labels['orleans/serviceId']"}}
        - name: HOME
          value: /tmp
        - name: Logging__LogLevel__Default
          value: {{ $ctx.Values.cluster.logLevel | quote }}
        {{- include "mola.databaseEnv" $ctx | trim | nindent 8 }}
      ports:
        - {name: api, containerPort: {{ $ctx.Values.ports.api }}, protocol: TCP}
        - {name: silo, containerPort: {{ $ctx.Values.ports.silo }}, protocol: TCP}
        - {name: gateway, containerPort: {{ $ctx.Values.ports.gateway }}, protocol: TCP}
      livenessProbe:
        httpGet: {path: /healthz, port: api}
        {{- toYaml $ctx.Values.probes.liveness | nindent 8 }}
      readinessProbe:
        httpGet: {path: /readyz, port: api}
        {{- toYaml $ctx.Values.probes.readiness | nindent 8 }}
      resources:
        {{- $resources := deepCopy $v.resources }}
        {{- if .gpus }}
        {{- $_ := set $resources "limits" (merge (dict "nvidia.com/gpu" .gpus) (default (dict) $resources.limits)) }}
        {{- end }}
        {{- toYaml $resources | nindent 8 }}
      securityContext:
        {{- toYaml $ctx.Values.securityContext | nindent 8 }}
      volumeMounts:
        - {name: config, mountPath: /etc/mola, readOnly: true}
        - {name: api-token, mountPath: /var/run/mola/api-token, readOnly: true}
        - {name: state, mountPath: /var/lib/mola/state}
        - {name: tmp, mountPath: /tmp}
        - {name: runs, mountPath: {{ $ctx.Values.runVolume.mountPath }}}
        {{- if .sharedMemorySize }}
        - {name: dshm, mountPath: /dev/shm}
        {{- end }}
  volumes:
    - name: config
      configMap: {name: {{ include "mola.fullname" $ctx }}-silo}
    - name: api-token
      secret: {secretName: {{ include "mola.apiTokenSecret" $ctx }}, defaultMode: 0440}
    - name: state
      emptyDir: {}
    - name: tmp
      emptyDir: {}
    - name: runs
      persistentVolumeClaim: {claimName: {{ default (printf "%s-runs" (include "mola.fullname" $ctx)) $ctx.Values.runVolume.existingClaim }}}
    {{- if .sharedMemorySize }}
    - name: dshm
      emptyDir: {medium: Memory, sizeLimit: {{ .sharedMemorySize }}}
    {{- end }}
  {{- with $v.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $v.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $v.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
