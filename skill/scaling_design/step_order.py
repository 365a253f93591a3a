"""The order of the skill's steps: one home, read by the strategy and the report alike."""
STEP_ORDER = ("factor_identification", "level_specification", "metric_specification",
              "design_matrix_construction", "sample_size_estimation", "budget_constrained_design")
