package dev.panagrad.autograd;

/**
 * The closed set of recorded operations, each with the name PyTorch 1.13 gives its backward node.
 * {@link BackwardRules} switches over this enum with no default branch, so an op without a backward
 * rule does not compile.
 */
public enum Op {
  // Elementwise, one input (scalar operands live in the entry's scalars).
  NEG("NegBackward0"),
  EXP("ExpBackward0"),
  LOG("LogBackward0"),
  SQRT("SqrtBackward0"),
  ABS("AbsBackward0"),
  TANH("TanhBackward0"),
  SIGMOID("SigmoidBackward0"),
  RELU("ReluBackward0"),
  SIN("SinBackward0"),
  COS("CosBackward0"),
  RECIPROCAL("ReciprocalBackward0"),
  GELU("GeluBackward0"),
  SILU("SiluBackward0"),
  LEAKY_RELU("LeakyReluBackward0"),
  ELU("EluBackward0"),
  SOFTPLUS("SoftplusBackward0"),
  ADD_SCALAR("AddBackward0"),
  SUB_SCALAR("SubBackward0"),
  RSUB_SCALAR("RsubBackward1"),
  MUL_SCALAR("MulBackward0"),
  DIV_SCALAR("DivBackward0"),
  POW_SCALAR("PowBackward0"),
  CLAMP("ClampBackward1"),
  // Elementwise, two or three inputs, broadcasting.
  ADD("AddBackward0"),
  SUB("SubBackward0"),
  MUL("MulBackward0"),
  DIV("DivBackward0"),
  POW("PowBackward1"),
  MAXIMUM("MaximumBackward0"),
  MINIMUM("MinimumBackward0"),
  WHERE("WhereBackward0"),
  MASKED_FILL("MaskedFillBackward0"),
  // Linear algebra.
  DOT("DotBackward0"),
  MV("MvBackward0"),
  MM("MmBackward0"),
  BMM("BmmBackward0"),
  ADDMM("AddmmBackward0"),
  // Shape and views.
  VIEW("ViewBackward0"),
  RESHAPE_ALIAS("ReshapeAliasBackward0"),
  UNSAFE_VIEW("UnsafeViewBackward0"),
  T("TBackward0"),
  TRANSPOSE("TransposeBackward0"),
  PERMUTE("PermuteBackward0"),
  UNSQUEEZE("UnsqueezeBackward0"),
  SQUEEZE("SqueezeBackward0"),
  SQUEEZE_DIM("SqueezeBackward1"),
  SQUEEZE_MATMUL("SqueezeBackward3"),
  EXPAND("ExpandBackward0"),
  SLICE("SliceBackward0"),
  SELECT("SelectBackward0"),
  CAT("CatBackward0"),
  STACK("StackBackward0"),
  // Convolution, pooling, normalization.
  CONVOLUTION("ConvolutionBackward0"),
  MAX_POOL2D("MaxPool2DWithIndicesBackward0"),
  AVG_POOL2D("AvgPool2DBackward0"),
  NATIVE_LAYER_NORM("NativeLayerNormBackward0"),
  NATIVE_BATCH_NORM("NativeBatchNormBackward0"),
  CLONE("CloneBackward0"),
  TO_COPY("ToCopyBackward0"),
  // Reductions.
  SUM("SumBackward0"),
  SUM_DIM("SumBackward1"),
  MEAN("MeanBackward0"),
  MEAN_DIM("MeanBackward1"),
  AMAX("AmaxBackward0"),
  AMIN("AminBackward0"),
  MAX("MaxBackward1"),
  MIN("MinBackward1"),
  NORM("NormBackward1"),
  VAR("VarBackward0"),
  LOGSUMEXP("LogsumexpBackward0"),
  SOFTMAX("SoftmaxBackward0"),
  LOG_SOFTMAX("LogSoftmaxBackward0"),
  // Losses.
  MSE_LOSS("MseLossBackward0"),
  BCE_WITH_LOGITS("BinaryCrossEntropyWithLogitsBackward0"),
  BCE("BinaryCrossEntropyBackward0"),
  NLL_LOSS("NllLossBackward0"),
  // Indexing.
  INDEX_SELECT("IndexSelectBackward0"),
  GATHER("GatherBackward0"),
  EMBEDDING("EmbeddingBackward0"),
  // Autograd's own.
  COPY_SLICES("CopySlices"),
  COPY_BACKWARDS("CopyBackwards"),
  CUSTOM("CustomFunctionBackward");

  private final String pyName;

  Op(String pyName) {
    this.pyName = pyName;
  }

  /** The name of PyTorch's grad_fn class for this op. */
  public String pyName() {
    return pyName;
  }
}
