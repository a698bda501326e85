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
  /** Memory bandwidth of one device, GB/s (decode speed: every token reads the weights and the KV cache). */
  readonly bandwidthGBps?: number;
  /** Where the figures come from. */
  readonly source: string;
}

export const kAcceleratorCatalog: Readonly<Record<string, AcceleratorSpec>> = Object.freeze({
  H200: { capacity: 989, memoryGiB: 141, bandwidthGBps: 4800, source: 'NVIDIA H200 SXM datasheet: BF16 Tensor Core 1,979 TFLOPS with sparsity; 141 GB HBM3e; 4.8 TB/s' },
  H100: { capacity: 989, memoryGiB: 80, bandwidthGBps: 3350, source: 'NVIDIA H100 SXM datasheet: BF16 Tensor Core 1,979 TFLOPS with sparsity; 80 GB HBM3; 3.35 TB/s' },
  A100: { capacity: 312, memoryGiB: 80, bandwidthGBps: 2039, source: 'NVIDIA A100 80GB SXM datasheet: BF16 Tensor Core 312 TFLOPS (624 with sparsity); 80 GB HBM2e; 2,039 GB/s' },
  L40S: { capacity: 362, memoryGiB: 48, bandwidthGBps: 864, source: 'NVIDIA L40S datasheet: BF16 Tensor Core 362 TFLOPS (733 with sparsity); 48 GB GDDR6; 864 GB/s' },
  L4: { capacity: 121, memoryGiB: 24, bandwidthGBps: 300, source: 'NVIDIA L4 datasheet: BF16 Tensor Core 242 TFLOPS with sparsity; 24 GB GDDR6; 300 GB/s' },
  T4: { capacity: 65, memoryGiB: 16, bandwidthGBps: 320, source: 'NVIDIA T4 datasheet: mixed-precision FP16/FP32 65 TFLOPS (no BF16); 16 GB GDDR6; 320 GB/s' },
  'TPU-v5e': { capacity: 197, memoryGiB: 16, bandwidthGBps: 819, source: 'Google Cloud TPU v5e documentation: 197 TFLOPS BF16 per chip; 16 GiB HBM2; 819 GB/s' },
  cpu: { capacity: 2, memoryGiB: 0, bandwidthGBps: 307, source: 'estimate: one server socket with AVX-512/AMX, a few TFLOPS BF16; 8 channels of DDR5-4800, 307 GB/s; override with measured throughput' },
});
