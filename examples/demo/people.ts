// The demo's simulated population: users of I PROACTIVE, candidates and roles of I MATCH.
import type { UserContext } from '../services/i-proactive.js';
import type { Candidate, Role } from '../services/i-match.js';

const NAMES = ['Alice', 'Bob', 'Chen', 'Dana', 'Emeka', 'Farah', 'Goran', 'Hana', 'Ivan', 'Jia', 'Kofi', 'Lena', 'Mateo', 'Nora', 'Omar', 'Priya'];
const JOBS = ['engineering manager', 'sales lead', 'data scientist', 'designer', 'recruiter', 'support engineer'];
const FOCUS = ['the Q3 roadmap', 'hiring', 'customer renewals', 'the platform migration', 'onboarding', 'the launch'];
const SKILLS = ['Python', 'TypeScript', 'SQL', 'Kubernetes', 'Spark', 'React', 'Go', 'statistics', 'Figma', 'AWS', 'Terraform'];
const ROLES: readonly Role[] = [
  { id: 'r1', title: 'Data Engineer', requirements: ['Python', 'SQL', 'Spark'] },
  { id: 'r2', title: 'Frontend Engineer', requirements: ['TypeScript', 'React'] },
  { id: 'r3', title: 'Platform Engineer', requirements: ['Kubernetes', 'Go', 'Terraform'] },
  { id: 'r4', title: 'Data Scientist', requirements: ['Python', 'statistics'] },
  { id: 'r5', title: 'Product Designer', requirements: ['Figma', 'user research'] },
  { id: 'r6', title: 'Cloud Architect', requirements: ['AWS', 'Terraform'] },
];

const pick = <T>(items: readonly T[], index: number): T => items[index % items.length] as T;

/** A user's context at a given hour: meetings thin out through the day, tasks get done now and then. */
export function userAt(index: number, hour: number, tick: number): UserContext {
  const meetings = 2 + (index % 4);
  const meetingsLeft = hour < 12 ? meetings : hour < 17 ? Math.ceil(meetings / 2) : 0;
  const done = Math.floor((tick + index) / 9);
  return {
    name: pick(NAMES, index),
    role: pick(JOBS, index),
    meetingsLeft,
    overdueTasks: Math.max(0, 2 + (index % 3) - done),
    focus: pick(FOCUS, index),
  };
}

export function candidate(index: number): Candidate {
  return {
    id: `c${index + 1}`,
    name: `${pick(NAMES, index + 3)} ${String.fromCharCode(65 + (index % 26))}.`,
    years: 1 + ((index * 7) % 12),
    skills: [pick(SKILLS, index), pick(SKILLS, index * 3 + 1), pick(SKILLS, index * 5 + 2)],
  };
}

export function roles(count: number): Role[] {
  return ROLES.slice(0, Math.min(count, ROLES.length));
}

export function adhocQuestion(index: number): string {
  const questions = [
    'What should I prepare before tomorrow\'s board meeting?',
    'How do I free an hour this afternoon?',
    'Which customer should I call first today?',
    'What is worth delegating this week?',
    'How can I make Friday\'s retro more useful?',
    'What should I read before the architecture review?',
  ];
  return pick(questions, index);
}
