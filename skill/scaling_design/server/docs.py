"""Prompts (the strategy's flow, one per SOP and tactic document) and resources (SKILL.md,
every SOP and tactic document, the published laws)."""
from __future__ import annotations

import json
from collections.abc import Callable

import mcp.types as types

from .schemas import title

__all__ = ["URI_PREFIX", "doc_prompts", "resource_table"]

URI_PREFIX = "scaling-design://"


def doc_prompts() -> dict[str, tuple[types.Prompt, Callable[[dict[str, str]], str]]]:
    from ..resources import procedure_docs, skill_md_path

    prompts: dict[str, tuple[types.Prompt, Callable[[dict[str, str]], str]]] = {}
    strategy = types.Prompt(
        name="scaling_design",
        title="Scaling design: the whole flow",
        description="Design a scaling-law experiment end to end: the six steps in order, the Budget Gate, the verdict.",
        arguments=[
            types.PromptArgument(name="question", description="The research question, e.g. 'how does loss scale with "
                                 "model size for our 1B-token data mix?'", required=True),
            types.PromptArgument(name="scaling_type", description="data, model, compute_optimal or inference",
                                 required=False),
            types.PromptArgument(name="budget", description="The budget, in FLOPs or GPU-hours, with the hardware",
                                 required=False),
        ],
    )

    def strategy_text(args: dict[str, str]) -> str:
        lines = [
            "Design a scaling experiment for the question below, following the skill document that follows.",
            "Call the `scaling_design` tool for the whole plan (or each step's tool in the order of the execution "
            "flow), read its verdict and reasons, revise the inputs until the verdict is `ready`, and show the "
            "report to the user.",
            "",
            f"Question: {args.get('question', '').strip() or '(not given: ask the user)'}",
        ]
        if args.get("scaling_type"):
            lines.append(f"Scaling type: {args['scaling_type'].strip()}")
        if args.get("budget"):
            lines.append(f"Budget: {args['budget'].strip()}")
        lines += ["", "---", skill_md_path().read_text(encoding="utf-8")]
        return "\n".join(lines)

    prompts["scaling_design"] = (strategy, strategy_text)

    for doc in procedure_docs():
        kind = "SOP" if doc.kind == "sops" else "tactic"
        prompt = types.Prompt(
            name=doc.name,
            title=f"{title(doc.name)} ({kind})",
            description=f"Apply the {title(doc.name).lower()} {kind} and call the `{doc.name}` tool.",
            arguments=[types.PromptArgument(
                name="context", required=False,
                description="What is being studied: the question, model family, budget, and outputs of earlier steps")],
        )

        def doc_text(args: dict[str, str], doc=doc) -> str:
            context = args.get("context", "").strip()
            head = [f"Apply the procedure below, then call the `{doc.name}` tool with arguments chosen by it."]
            if context:
                head += ["", f"Context: {context}"]
            return "\n".join(head + ["", "---", doc.read()])

        prompts[doc.name] = (prompt, doc_text)
    return prompts


def resource_table() -> dict[str, tuple[types.Resource, Callable[[], str]]]:
    from .. import knowledge
    from ..resources import procedure_docs, skill_md_path

    table: dict[str, tuple[types.Resource, Callable[[], str]]] = {}
    skill = skill_md_path()
    uri = URI_PREFIX + "skill/SKILL.md"
    table[uri] = (types.Resource(name="SKILL.md", title="Scaling design skill", uri=uri, mime_type="text/markdown",
                                 description="The strategy: execution flow, which tool does each step, Budget Gate."),
                  lambda: skill.read_text(encoding="utf-8"))
    for doc in procedure_docs():
        uri = URI_PREFIX + "skill/" + doc.relative
        table[uri] = (types.Resource(name=doc.relative, title=title(doc.name), uri=uri, mime_type="text/markdown",
                                     description=f"The {doc.name} procedure ({doc.kind[:-1]})."),
                      doc.read)
    for key in knowledge.published_law_names():
        law = knowledge.published_law(key)
        uri = URI_PREFIX + f"laws/{key}"
        table[uri] = (types.Resource(name=f"law:{key}", title=law.get("title", key), uri=uri,
                                     mime_type="application/json",
                                     description=f"Published law `{key}` ({law.get('form', '')}): parameters and source. "
                                                 f"Pass law='{key}' to compute_optimal_allocation."),
                      lambda law=law: json.dumps(law, indent=2))
    return table
