import { CoreV1Api, KubeConfig, RbacAuthorizationV1Api } from "@kubernetes/client-node";

/** What the gateway needs, as README "Follow a fleet that changes" (Kubernetes) grants it: no more. */
export const GATEWAY_RULES = [
  { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["get", "list", "watch"] },
];

/** Creates `namespace` and lets `user` read its EndpointSlices (a Role and RoleBinding, as for a ServiceAccount). */
export async function grantGateway(kc: KubeConfig, namespace: string, user: string): Promise<void> {
  await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: namespace } } });
  const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
  await rbac.createNamespacedRole({ namespace, body: { metadata: { name: "switchyard" }, rules: GATEWAY_RULES } });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name: "switchyard" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "switchyard" },
      subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: user }],
    },
  });
}
