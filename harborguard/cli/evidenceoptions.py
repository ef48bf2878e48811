"""The evidence options of check, diff, drift and protect (the cluster, the deployment
repository, Helm, the manifests' git history) and their resolution into the
EvidenceOptions that harborguard.gather reads."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from harborguard.cli.options import command_values, option_group, resolve
from harborguard.commands import Invocation
from harborguard.errors import InputError

if TYPE_CHECKING:
    from harborguard.gather import EvidenceOptions


kubectl_options = option_group(
    click.option("--kubectl", "use_kubectl", is_flag=True, default=None,
                 help="Ask the cluster: runs `kubectl get pods,...,controllerrevisions -o json`."),
    click.option("--context", metavar="C", help="kubectl context."),
    click.option("--namespace", metavar="N", help="Only this namespace (default: all)."),
    click.option("--kubectl-json", metavar="FILE", multiple=True,
                 help="Saved `kubectl get ... -o json` output (repeatable)."),
)

manifest_options = option_group(
    click.option("--manifests", metavar="DIR",
                 help="A deployment repository checkout (toolforge-deploy layout, Helm values, "
                      "Kubernetes YAML)."),
    click.option("--environment", metavar="ENV",
                 help="Which environment's values the manifests deploy, e.g. tools."),
    click.option("--image-tag-template", metavar="TEMPLATE",
                 help="The image tag a chart version deploys, e.g. {version}_image."),
    click.option("--helm", "use_helm", is_flag=True, default=None,
                 help="Ask the cluster: runs `helm list --all-namespaces -o json`, then "
                      "`helm history` and `helm get values -a` per release (the values "
                      "each revision runs; earlier revisions are rollback evidence)."),
    click.option("--helm-json", metavar="FILE", multiple=True,
                 help="Saved `helm list --all-namespaces -o json` (or -o yaml) output "
                      "(repeatable)."),
)

evidence_options = option_group(
    kubectl_options,
    manifest_options,
    click.option("--history", metavar="N",
                 help="Also protect the N versions before HEAD in the manifests' git history "
                      "(default 1 when --manifests is a git checkout)."),
    click.option("--registry-alias", metavar="HOST", multiple=True,
                 help="Another name of the same Harbor in image references (repeatable)."),
)

EVIDENCE_NAMES = ("use_kubectl", "context", "namespace", "kubectl_json", "manifests",
                  "environment", "image_tag_template", "use_helm", "helm_json", "history")


def split_evidence(local: dict[str, Any]) -> dict[str, Any]:
    """Takes the evidence options out of a command's keyword arguments."""
    return {name: local.pop(name, None) for name in EVIDENCE_NAMES}


def resolve_with_evidence(ctx: click.Context, local: dict[str, Any], output: str | None,
                          **command: Any) -> tuple[Invocation, EvidenceOptions]:
    """resolve for the commands that take EVIDENCE (check, diff, protect)."""
    values = split_evidence(local)
    inv = resolve(ctx, local, command_values(
        **command, manifests=values["manifests"], environment=values["environment"],
        history=values["history"], image_tag_template=values["image_tag_template"]),
        output)
    inv.evidence = []  # no evidence given: said as such, never "nothing in use"
    return inv, evidence_settings(inv, values)


def evidence_settings(inv: Invocation, values: dict[str, Any]) -> EvidenceOptions:
    """The evidence sources to read, from the command line's ``values`` and the settings."""
    from harborguard.gather import EvidenceOptions

    history = inv.get("history")
    manifests = inv.get("manifests")
    environment = inv.get("environment")
    if manifests and not environment:
        raise InputError("--manifests needs --environment ENV (e.g. tools): which values apply")
    return EvidenceOptions(
        use_kubectl=bool(values.get("use_kubectl")),
        context=values.get("context"),
        namespace=values.get("namespace"),
        kubectl_json=tuple(values.get("kubectl_json") or ()),
        manifests=manifests,
        environment=environment,
        history=history,
        use_helm=bool(values.get("use_helm")),
        helm_json=tuple(values.get("helm_json") or ()),
        image_tag_template=inv.get("image-tag-template"),
        timeout=inv.get("timeout"),
    )
