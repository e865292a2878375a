"""Load, validate, lint and version BPMN/DMN/form bundles (deployments)."""

from .bundle import Bundle, BundleFile
from .deploy import deploy_bundle, validate_bundle
from .problems import Problem
from .specs import active_spec, load_specs

__all__ = ["Bundle", "BundleFile", "Problem", "active_spec", "deploy_bundle", "load_specs", "validate_bundle"]
