// The accelerator catalog: each device type's default relative capacity and memory.
//
// Capacity is dense BF16 tensor throughput in TFLOPS from the vendor's datasheet (half the
// "with sparsity" figure where the datasheet gives only that), one number that orders devices
// roughly as inference throughput does. It is a default: an endpoint's measured throughput
// (resources.throughput) overrides it, as do catalog entries in the mesh config.

/** One accelerator type. */
export interface AcceleratorSpec {
  /** Relative capacity of one device (capacity units; here dense BF16 TFLOPS). */
  readonly capacity: number;
  /** Memory of one device, GiB. */
  readonly memoryGiB: number;
  /** Where the figures come from. */
  readonly source: string;
}

export const kAcceleratorCatalog: Readonly<Record<string, AcceleratorSpec>> = Object.freeze({
  H200: { capacity: 989, memoryGiB: 141, source: 'NVIDIA H200 SXM datasheet: BF16 Tensor Core 1,979 TFLOPS with sparsity; 141 GB HBM3e' },
  H100: { capacity: 989, memoryGiB: 80, source: 'NVIDIA H100 SXM datasheet: BF16 Tensor Core 1,979 TFLOPS with sparsity; 80 GB HBM3' },
  A100: { capacity: 312, memoryGiB: 80, source: 'NVIDIA A100 80GB SXM datasheet: BF16 Tensor Core 312 TFLOPS (624 with sparsity); 80 GB HBM2e' },
  L40S: { capacity: 362, memoryGiB: 48, source: 'NVIDIA L40S datasheet: BF16 Tensor Core 362 TFLOPS (733 with sparsity); 48 GB GDDR6' },
  L4: { capacity: 121, memoryGiB: 24, source: 'NVIDIA L4 datasheet: BF16 Tensor Core 242 TFLOPS with sparsity; 24 GB GDDR6' },
  T4: { capacity: 65, memoryGiB: 16, source: 'NVIDIA T4 datasheet: mixed-precision FP16/FP32 65 TFLOPS (no BF16); 16 GB GDDR6' },
  'TPU-v5e': { capacity: 197, memoryGiB: 16, source: 'Google Cloud TPU v5e documentation: 197 TFLOPS BF16 per chip; 16 GiB HBM2' },
  cpu: { capacity: 2, memoryGiB: 0, source: 'estimate: one server socket with AVX-512/AMX, a few TFLOPS BF16; override with measured throughput' },
});
