"""The EcoLogits 0.11 LLM-inference method, reimplemented from its published formulas.

Constants are copied from `ecologits/impacts/llm.py` (EcoLogits 0.11.3); the arithmetic follows
its DAG of assets so that both give the same energy for the same inputs.
"""

from __future__ import annotations

import math
from typing import Final

from domain.eco.estimates import EcoEstimate, EcoInputs, complete_estimate

VERSION: Final = "ecologits-0.11"

MODEL_QUANTIZATION_BITS: Final = 16
# GPU energy per output token (Wh) = alpha * exp(beta * batch) * P_active + gamma,
# fitted on ML.ENERGY leaderboard measurements.
GPU_ENERGY_ALPHA: Final = 1.1665273170451914e-06
GPU_ENERGY_BETA: Final = -0.011205921025579175
GPU_ENERGY_GAMMA: Final = 4.052928146734005e-05
# Generation latency per output token (s) = alpha * P_active + beta * batch + gamma.
LATENCY_ALPHA: Final = 0.0006785088094353663
LATENCY_BETA: Final = 0.0003119310311688259
LATENCY_GAMMA: Final = 0.019473717579473387

GPU_MEMORY_GB: Final = 80
GPU_EMBODIED_GWP_KG: Final = 273
SERVER_GPUS: Final = 8
SERVER_POWER_KW: Final = 1.2
SERVER_EMBODIED_GWP_KG: Final = 5700
HARDWARE_LIFESPAN_S: Final = 3 * 365 * 24 * 60 * 60
BATCH_SIZE: Final = 64


def required_gpu_count(total_params_b: float) -> int:
    """GPUs (80 GB) needed to hold the weights at 16 bits with 20 % overhead, rounded to a power of 2."""
    memory_gb = 1.2 * total_params_b * MODEL_QUANTIZATION_BITS / 8
    gpus = max(1, math.ceil(memory_gb / GPU_MEMORY_GB))
    return int(2 ** math.ceil(math.log2(gpus)))


def gpu_energy_per_token_wh(active_params_b: float) -> float:
    """Energy one GPU spends per output token, in Wh."""
    return GPU_ENERGY_ALPHA * math.exp(GPU_ENERGY_BETA * BATCH_SIZE) * active_params_b + GPU_ENERGY_GAMMA


def generation_latency_s(active_params_b: float, completion_tokens: int, measured_s: float | None) -> float:
    """Time the server spends generating: EcoLogits' estimate, capped by the measured latency."""
    estimated = completion_tokens * (
        LATENCY_ALPHA * active_params_b + LATENCY_BETA * BATCH_SIZE + LATENCY_GAMMA
    )
    # EcoLogits keeps the measured latency only when it is shorter than its own estimate.
    if measured_s is not None and measured_s < estimated:
        return measured_s
    return estimated


def estimate_ecologits(inputs: EcoInputs) -> EcoEstimate:
    """Energy (GPUs + server share, times PUE) and embodied carbon of one generation request."""
    gpus = required_gpu_count(inputs.total_params_b)
    latency = generation_latency_s(inputs.active_params_b, inputs.completion_tokens, inputs.latency_s)
    gpu_wh = gpus * inputs.completion_tokens * gpu_energy_per_token_wh(inputs.active_params_b)
    # The server's non-GPU power, for this request's share of the GPUs and of the batch.
    server_wh = (latency / 3600) * SERVER_POWER_KW * 1000 * (gpus / SERVER_GPUS) / BATCH_SIZE
    energy_wh = inputs.pue * (server_wh + gpu_wh)
    hardware_kg = (gpus / SERVER_GPUS) * SERVER_EMBODIED_GWP_KG + gpus * GPU_EMBODIED_GWP_KG
    embodied_g = 1000 * latency * hardware_kg / (HARDWARE_LIFESPAN_S * BATCH_SIZE)
    return complete_estimate(inputs, energy_wh, embodied_g, VERSION)
