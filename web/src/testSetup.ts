// Vitest setup of the unit and component tests (vite.config.ts). findBy* and
// waitFor give up after 1 s by default; on a 2-core CI machine busy with
// other stages a render can take longer than that, so they wait up to 5 s
// (they return as soon as the condition holds, so passing tests are no
// slower).
import { configure } from "@testing-library/react";

configure({ asyncUtilTimeout: 5000 });
