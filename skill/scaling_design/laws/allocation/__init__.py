"""Allocation of model size and data from a scaling law, by concern.

joint             the compute-optimal frontier of the joint law with C = 6ND (closed form)
inference         N and D that minimise training plus lifetime inference FLOPs at a target
                  loss (Sardana et al. 2024, "Beyond Chinchilla-Optimal")
data_constrained  the compute-optimal N and D when unique tokens are limited (Muennighoff
                  et al. 2023, "Scaling Data-Constrained Language Models")
"""
from __future__ import annotations

from .data_constrained import data_constrained_loss, data_constrained_optimal
from .inference import compute_for_optimal_size, inference_optimal
from .joint import JOINT_ORDER, allocation_exponents, compute_optimal, joint_loss, resource_effect

__all__ = ["JOINT_ORDER", "compute_optimal", "joint_loss", "resource_effect", "allocation_exponents",
           "inference_optimal", "compute_for_optimal_size", "data_constrained_loss", "data_constrained_optimal"]
